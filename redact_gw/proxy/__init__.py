"""The aiohttp application: factory, middlewares, handlers, upstream forwarding."""
