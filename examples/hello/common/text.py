"""A helper module shared by the project's functions: bundled because hello imports it."""


def greeting(name: str) -> str:
    name = name.strip() or "world"
    return f"hello {name}"
