#!/usr/bin/env python3
"""Make the images the rollout scenario rolls between, from the image build.yml pushed.

  test_images.py SOURCE_REF TAG...      tag SOURCE_REF as <repo>:TAG for each TAG and push
  --broken TAG                          also build <repo>:TAG FROM SOURCE_REF without the HA
                                        jar (the JobManager cannot start) and push it

The registry password is read from $FLINKFLEET_CACHE/registry/password (never printed).
Prints JSON {tag: ref}.
"""

import argparse
import io
import json
import os
import sys

import docker


def push(client, repo, tag, auth):
    for line in client.images.push(repo, tag, auth_config=auth, stream=True, decode=True):
        if "error" in line:
            sys.exit("push of %s:%s failed: %s" % (repo, tag, line["error"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("tags", nargs="*")
    parser.add_argument("--broken")
    args = parser.parse_args()
    cache = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
    with open(os.path.join(cache, "registry", "password")) as handle:
        auth = {"username": os.environ.get("FLINKFLEET_REGISTRY_USERNAME", "flinkfleet"), "password": handle.read().strip()}
    client = docker.from_env(timeout=600)
    repo = args.source.rsplit(":", 1)[0]
    image = client.images.get(args.source)
    out = {}
    for tag in args.tags:
        image.tag(repo, tag)
        push(client, repo, tag, auth)
        out[tag] = "%s:%s" % (repo, tag)
    if args.broken:
        dockerfile = "FROM %s\nRUN rm -f /opt/flink/lib/flinkfleet-ha-*.jar\n" % args.source
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="%s:%s" % (repo, args.broken), rm=True)
        push(client, repo, args.broken, auth)
        out[args.broken] = "%s:%s" % (repo, args.broken)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
