"""`python manage.py demo_logins`: the demo logins that exist, as a table (make run prints it)."""
import unicodedata

from django.core.management.base import BaseCommand, no_translations

from accounts.models import Role, User
from demo.county import DEMO_PASSWORD, DEMO_USERNAMES

URL = "http://127.0.0.1:8000"


def _width(text: str) -> int:
    """Columns a terminal gives the text: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _place(user: User) -> str:
    if user.facility_id:
        return f"{user.facility.code} {user.facility.name}"
    if user.township_id:
        return user.township.name
    return "全县"


class Command(BaseCommand):
    help = "列出已存在的演示账号（用户名、密码、角色、所属乡镇或机构）和访问地址"

    @no_translations  # role names in Chinese, the message ids, whatever the locale
    def handle(self, *args, **options):
        found = {
            user.username: user
            for user in User.objects.filter(username__in=DEMO_USERNAMES, is_active=True)
            .select_related("township", "facility")
        }
        users = [found[name] for name in DEMO_USERNAMES if name in found]
        if not users:
            self.stdout.write("没有演示账号：请先运行 python manage.py seed_demo")
            return
        rows = [("用户名", "密码", "角色", "所属乡镇/机构")]
        rows += [(u.username, DEMO_PASSWORD, str(Role(u.role).label), _place(u)) for u in users]
        widths = [max(_width(row[i]) for row in rows) for i in range(4)]
        self.stdout.write(f"演示系统：{URL}")
        for index, row in enumerate(rows):
            self.stdout.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
