#!/bin/sh
# dbtwin offline image: docker-entrypoint.sh for Redis built from Debian
# packages, imitating the official redis image's entrypoint.
set -e

# First argument is an option (`--port 6380`) or a config file (`x.conf`).
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

# Allow the container to be started with `--user`: as root, hand /data to
# redis and run this script again as redis.
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec gosu redis "$0" "$@"
fi

if [ "$1" = 'redis-server' ]; then
	# The official image builds Redis with protected mode off; Debian's does
	# not. Turn it off here, before the user's arguments so those still win
	# (a config file, if any, has to stay the first argument).
	shift
	case "${1:-}" in
		''|-*) set -- redis-server --protected-mode no "$@" ;;
		*)     conf="$1"; shift; set -- redis-server "$conf" --protected-mode no "$@" ;;
	esac
fi

# Restrictive umask for the data files, unless one was set already.
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi

exec "$@"
