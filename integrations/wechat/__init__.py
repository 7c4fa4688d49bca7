"""The property's WeChat Official Account: the callback's protocol (callback.py), the platform's
API client (client.py) and a local stand-in for WeChat's servers (sandbox.py).

Framework-free on purpose: the Django view, the accounts model and the flows that use these
come on top (docs/adr/0014-wechat-sandbox-and-callback.md).
"""
