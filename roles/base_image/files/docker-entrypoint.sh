#!/usr/bin/env bash
# Entrypoint of flinkfleet's local Flink base image. It follows the official flink image:
#   jobmanager | taskmanager | standalone-job [args]  start that process in the foreground;
#   FLINK_PROPERTIES ("key: value" lines) and JOB_MANAGER_RPC_ADDRESS are written into
#   conf/config.yaml first; any other command is executed as given.
set -euo pipefail

conf_dir="${FLINK_HOME}/conf"

prepare_configuration() {
    local params=(-D "jobmanager.rpc.address=${JOB_MANAGER_RPC_ADDRESS:-localhost}"
                  -D "blob.server.port=6124" -D "query.server.port=6125")
    if [ -n "${TASK_MANAGER_NUMBER_OF_TASK_SLOTS:-}" ]; then
        params+=(-D "taskmanager.numberOfTaskSlots=${TASK_MANAGER_NUMBER_OF_TASK_SLOTS}")
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
        value="${value#"${value%%[![:space:]]*}"}"
        params+=(-D "${key}=${value}")
    done <<< "${FLINK_PROPERTIES:-}"
    "${FLINK_HOME}/bin/config-parser-utils.sh" "${conf_dir}" "${FLINK_HOME}/bin" "${FLINK_HOME}/lib" "${params[@]}"
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
