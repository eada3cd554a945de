"""``ilforge env create|path|list [BACKEND]``: the backends' own Python environments."""

from __future__ import annotations

VERB = "env"
HELP = "create, locate or list the backends' own Python environments (e.g. deepmd)"
ORDER = 55


def register(parser):
    parser.add_argument("action", choices=["create", "path", "list"],
                        help="create: make the environment (once; reused later) and print its path; path: print "
                        "where it is (or would be); list: every defined environment and whether it is ready")
    parser.add_argument("backend", nargs="?", help="backend name (ilforge env list shows them); needed by create and path")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ilforge.envs.manager import ensure_env, env_dir, is_ready, list_envs
    from ilforge.errors import IlforgeError

    if args.action == "list":
        for row in list_envs():
            state = "ready" if row["ready"] else "not created"
            size = f", {row['size_bytes'] / 1e9:.1f} GB" if row.get("size_bytes") else ""
            print(f"{row['name']:<8} {state}{size}  {row['path']}")
        return 0
    if not args.backend:
        raise IlforgeError(f"`ilforge env {args.action}` needs a backend name, e.g. `ilforge env {args.action} deepmd`")
    if args.action == "path":
        print(env_dir(args.backend))
        return 0 if is_ready(args.backend) else 2
    print(ensure_env(args.backend))
    return 0
