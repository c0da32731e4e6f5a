# Sourced by the kind scripts: settings for podman where the machine needs them.
# On a machine whose PID 1 is not systemd (a container or a small VM), podman's defaults (systemd cgroup
# manager, crun, journald events, 1048576 open files) fail; the project's containers.conf replaces them.
if [[ "$(cat /proc/1/comm 2>/dev/null)" != systemd && -z "${CONTAINERS_CONF:-}" ]]; then
  export CONTAINERS_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf"
fi
export KIND_EXPERIMENTAL_PROVIDER=podman
