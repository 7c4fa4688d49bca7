"""WeChat's side of the platform's pages: the Official Account's callback on the public host,
the H5 pages opened inside WeChat (OAuth), and the console's account page.

Pages only: they check input and call actions (``workflows.actions.wechat`` and the rest);
the protocol lives in ``integrations.wechat``, the account and delivery in
``visit_platform.notifications.wechat``.
"""
