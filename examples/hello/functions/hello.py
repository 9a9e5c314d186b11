"""GET /<owner>/hello/hello?name=X -> {"message": "hello X"} (default: world)."""

from common.text import greeting


def handler(request, ctx=None):
    return {"message": greeting(request.query.get("name", "world"))}
