#!/usr/bin/env bash
# Entrypoint of flinkfleet's local Flink base image. It follows the official flink image:
#   jobmanager | taskmanager | standalone-job [args]  start that process in the foreground;
#   FLINK_PROPERTIES ("key: value" lines) and JOB_MANAGER_RPC_ADDRESS are written into
#   conf/config.yaml first; any other command is executed as given.
set -euo pipefail

conf_dir="${FLINK_HOME}/conf"

# Writes conf/config.yaml without a helper JVM (config-parser-utils cost ~1 s per pod start, far
# more on a busy node): the image's config.yaml is flat (flattened when the image was built), so
# each override replaces the line of its key. Values are written single-quoted: Flink reads them
# as strings, exactly as it reads the official entrypoint's -D key=value.
declare -A override_value=()
declare -a override_order=()

override() {
    [[ -n "${override_value[$1]+set}" ]] || override_order+=("$1")
    override_value["$1"]="$2"
}

prepare_configuration() {
    override jobmanager.rpc.address "${JOB_MANAGER_RPC_ADDRESS:-localhost}"
    override blob.server.port 6124
    override query.server.port 6125
    if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
        override taskmanager.numberOfTaskSlots "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS}"
    fi
    local line key value
    while IFS= read -r line; do
        # Skip blank and comment lines; split at the first colon as Flink's flat YAML keys do.
        [[ -z "${line//[[:space:]]/}" || "${line}" =~ ^[[:space:]]*# ]] && continue
        if [[ "${line}" != *:* ]]; then
            echo "FLINK_PROPERTIES: '${line}' is not a 'key: value' line" >&2
            exit 64
        fi
        key="${line%%:*}"; value="${line#*:}"
        key="${key#"${key%%[![:space:]]*}"}"; key="${key%"${key##*[![:space:]]}"}"
        value="${value#"${value%%[![:space:]]*}"}"; value="${value%"${value##*[![:space:]]}"}"
        override "${key}" "${value}"
    done <<< "${FLINK_PROPERTIES:-}"
    local conf="${conf_dir}/config.yaml" next="${conf_dir}/.config.yaml.next"
    {
        while IFS= read -r line || [ -n "${line}" ]; do
            key="${line%%:*}"; key="${key#"${key%%[![:space:]]*}"}"; key="${key%"${key##*[![:space:]]}"}"
            [[ "${line}" == *:* && -n "${override_value[$key]+set}" ]] && continue
            printf '%s\n' "${line}"
        done < "${conf}"
        for key in "${override_order[@]}"; do
            value="${override_value[$key]}"
            printf "%s: '%s'\n" "${key}" "${value//\'/\'\'}"
        done
    } > "${next}"
    mv "${next}" "${conf}"
}

case "${1:-help}" in
    jobmanager)
        shift; prepare_configuration
        exec "${FLINK_HOME}/bin/jobmanager.sh" start-foreground "$@" ;;
    taskmanager)
        shift; prepare_configuration
        exec "${FLINK_HOME}/bin/taskmanager.sh" start-foreground "$@" ;;
    standalone-job)
        shift; prepare_configuration
        exec "${FLINK_HOME}/bin/standalone-job.sh" start-foreground "$@" ;;
    help)
        echo "usage: jobmanager | taskmanager | standalone-job [args] | <command>"; exit 0 ;;
    *)
        exec "$@" ;;
esac
