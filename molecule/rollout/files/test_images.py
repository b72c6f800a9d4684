#!/usr/bin/env python3
"""Make the images the rollout scenario rolls between, from the image build.yml pushed.

  test_images.py SOURCE_REF TAG...      tag SOURCE_REF as <repo>:TAG for each TAG and push
  --broken TAG                          also build <repo>:TAG FROM SOURCE_REF without the HA
                                        jar (the JobManager cannot start) and push it
  --distinct TAG                        also build <repo>:TAG FROM SOURCE_REF with one more label
                                        (another digest, the same Flink) and push it

The registry password is read from $FLINKFLEET_CACHE/registry/password (never printed).
Prints JSON {tag: ref, "pinned": {tag: repo@digest}} (pinned: the pushed manifest digests).
"""

import argparse
import io
import json
import os
import sys

import docker


def push(client, repo, tag, auth):
    """Push repo:tag; returns repo@<manifest digest> the registry reported."""
    digest = None
    for line in client.images.push(repo, tag, auth_config=auth, stream=True, decode=True):
        if "error" in line:
            sys.exit("push of %s:%s failed: %s" % (repo, tag, line["error"]))
        digest = (line.get("aux") or {}).get("Digest") or digest
    return "%s@%s" % (repo, digest) if digest else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("tags", nargs="*")
    parser.add_argument("--broken")
    parser.add_argument("--distinct")
    args = parser.parse_args()
    cache = os.environ.get("FLINKFLEET_CACHE") or os.path.expanduser("~/.cache/flinkfleet")
    with open(os.path.join(cache, "registry", "password")) as handle:
        auth = {"username": os.environ.get("FLINKFLEET_REGISTRY_USERNAME", "flinkfleet"), "password": handle.read().strip()}
    client = docker.from_env(timeout=600)
    repo = args.source.rsplit(":", 1)[0]
    image = client.images.get(args.source)
    out = {"pinned": {}}
    for tag in args.tags:
        image.tag(repo, tag)
        out["pinned"][tag] = push(client, repo, tag, auth)
        out[tag] = "%s:%s" % (repo, tag)
    if args.broken:
        dockerfile = "FROM %s\nRUN rm -f /opt/flink/lib/flinkfleet-ha-*.jar\n" % args.source
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="%s:%s" % (repo, args.broken), rm=True)
        out["pinned"][args.broken] = push(client, repo, args.broken, auth)
        out[args.broken] = "%s:%s" % (repo, args.broken)
    if args.distinct:
        dockerfile = "FROM %s\nLABEL io.flinkfleet.test-image=%s\n" % (args.source, args.distinct)
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="%s:%s" % (repo, args.distinct), rm=True)
        out["pinned"][args.distinct] = push(client, repo, args.distinct, auth)
        out[args.distinct] = "%s:%s" % (repo, args.distinct)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
