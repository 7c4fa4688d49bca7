"""Sample companies, employees and one user per role for the demo building."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import User
from visit_platform.audit.actions import Actor
from visit_platform.directory import actions
from visit_platform.directory.choices import Role
from visit_platform.directory.models import Company, Host

DEMO_PASSWORD = "visit-demo-2026"  # noqa: S105 - printed for the demo, never used in production

COMPANIES = [
    ("星河科技有限公司", "12-15", "A座", "李娜", "13800138001"),
    ("云帆律师事务所", "18", "A座", "王强", "13800138002"),
    ("青禾设计工作室", "7", "B座", "陈晓", "13800138003"),
    ("Northwind Trading", "21-22", "B座", "Emma Lin", "13800138004"),
    ("华东物业服务中心", "1", "大堂", "赵敏", "13800138005"),
]

HOSTS = [
    ("星河科技有限公司", "张伟", "13911110001", "研发部"),
    ("星河科技有限公司", "刘洋", "13911110002", "市场部"),
    ("星河科技有限公司", "孙丽", "13911110003", "人力资源部"),
    ("云帆律师事务所", "周杰", "13911110004", "诉讼部"),
    ("云帆律师事务所", "吴敏", "13911110005", "行政部"),
    ("青禾设计工作室", "郑爽", "13911110006", "设计部"),
    ("Northwind Trading", "David Chen", "13911110007", "Sales"),
    ("Northwind Trading", "Mia Wang", "13911110008", "Finance"),
    ("华东物业服务中心", "钱进", "13911110009", "客服部"),
]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    company: str = ""


DEMO_LOGINS = [
    DemoLogin(Role.PROPERTY_ADMIN, "admin@demo.example.com"),
    DemoLogin(Role.COMPANY_ADMIN, "company-admin@demo.example.com", "星河科技有限公司"),
    DemoLogin(Role.HOST, "zhang.wei@demo.example.com", "星河科技有限公司"),
    DemoLogin(Role.RECEPTION, "reception@demo.example.com"),
    DemoLogin(Role.SECURITY, "security@demo.example.com"),
]


def seed_demo_directory() -> list[DemoLogin]:
    """Fill the current building with sample data, through the real actions. Idempotent."""
    actor = Actor.system("demo")
    companies = {}
    for name, floors, zone, contact, mobile in COMPANIES:
        company = Company.objects.filter(name=name).first() or actions.create_company(
            actor, name=name, floors=floors, zone=zone, contact_name=contact, contact_mobile=mobile
        )
        companies[name] = company
    for company_name, name, mobile, department in HOSTS:
        if not Host.objects.filter(mobile=f"+86{mobile}").exists():
            actions.create_host(
                actor, companies[company_name], name=name, mobile=mobile, department=department
            )
    for login in DEMO_LOGINS:
        grant = actions.grant_membership(
            actor, email=login.email, role=login.role, company=companies.get(login.company)
        )
        user = User.objects.get(pk=grant.membership.user_id)
        if not user.has_usable_password():
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
    zhang_wei = Host.objects.get(mobile="+8613911110001")
    if zhang_wei.user_id is None:
        zhang_wei.user = User.objects.get(email="zhang.wei@demo.example.com")
        zhang_wei.save(update_fields=["user"])
    return DEMO_LOGINS
