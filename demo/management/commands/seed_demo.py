"""`python manage.py seed_demo [--members N] [--claims N] [--year Y] [--seed S] [--if-empty]`.

Builds the demo county (demo/county.py) in one transaction: deterministic by --seed.
"""
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import NcmsError
from demo.county import DEMO_PASSWORD, demo_county_seed
from enrollment.demo import DemoConfig, demo_year
from places.models import Township


class Command(BaseCommand):
    help = ("装入演示县数据：乡镇、村及农业人口、家庭户、参合人员、缴费、各级定点医疗机构、演示账号、"
            "年度补偿方案和各种状态的住院补偿（同一 --seed 数据相同）")

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=20000, help="参合人员人数（默认 20000）")
        parser.add_argument("--claims", type=int, default=None,
                            help="住院补偿笔数（默认：各种状态 300 笔，但不超过参合人员数的 1/20，"
                                 "另加本年度至今按进度已结算的住院补偿）")
        parser.add_argument("--year", type=int, default=None, help="年度（默认：90天前所在的年度，即1至3月为上一年度）")
        parser.add_argument("--seed", type=int, default=2026, help="随机种子（默认 2026）")
        parser.add_argument("--if-empty", action="store_true",
                            help="数据库中已有乡镇时什么也不做（make run 使用）")

    def handle(self, *args, members, claims, year, seed, if_empty, **options):
        if if_empty and Township.objects.exists():
            self.stdout.write("数据库中已有乡镇数据，跳过演示数据")
            return
        if members < 0:
            raise CommandError("--members 不能是负数")
        year = year or demo_year(timezone.localdate())
        if not 2000 <= year <= 2100:
            raise CommandError(f"年度 {year} 不合理")
        config = DemoConfig(members=members, claims=claims, year=year, seed=seed)
        started = time.perf_counter()
        try:
            summary = demo_county_seed(config=config)
        except NcmsError as exc:
            raise CommandError(exc.message) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"演示数据已装入（{year}年度，种子 {seed}，用时 {elapsed:.1f} 秒）："
            f"乡镇{summary['townships']}个，村{summary['villages']}个，"
            f"家庭户{summary['households']}户，参合人员{summary['members']}人，"
            f"缴费{summary['enrollments']}条，定点医疗机构{summary['facilities']}家，"
            f"演示账号{summary['users']}个（密码 {DEMO_PASSWORD}）"
        )
        if "claims" in summary:
            self.stdout.write(
                f"{year}年度补偿方案已载入；住院补偿{summary['claims']}笔（--claims 可调整笔数）："
                f"已提交{summary['claims_submitted']}、已审核{summary['claims_reviewed']}、"
                f"已审批{summary['claims_approved']}、退回修改{summary['claims_returned']}、"
                f"不予补偿{summary['claims_rejected']}、已兑付{summary.get('claims_paid', 0)}"
            )
        if "notices" in summary:
            self.stdout.write(f"补偿公示{summary['notices']}份（按村按月，已发布）")
        if "simulation_drafts" in summary:
            self.stdout.write(f"{year + 1}年度补偿方案草案{summary['simulation_drafts']}个，已按{year}年度的住院补偿测算"
                              f"{summary['simulation_runs']}个（补偿方案测算页面可比较）")
