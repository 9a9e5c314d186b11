"""POST /<owner>/paid/echo with a JSON body -> the same JSON (0.01 USDC a call)."""


def handler(request, ctx=None):
    return request.json()
