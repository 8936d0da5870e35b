"""A draft policy field by field (补偿方案草案): the policy file's every field in a form, so the
fund officer changes a deductible or a ratio without writing JSON.

The form is built from a policy document (a year's policy or a saved draft) and turns what was
typed back into a document, which `policy.rules.parse_policy` then checks: the same checks as
`load_policy`, every problem at once. Each problem is put beside the field it names, its place in
the file (`levels.county.bands[2].ratio`) being the field's name (`levels__county__bands_2__ratio`).

- amounts are typed in yuan and passed on as typed (the parser refuses a third decimal place, a
  negative amount or a word);
- ratios are typed as percentages (75 for "0.75"), converted exactly with Decimal;
- a level's bands and the single diseases are rows; a row left blank is dropped, so one more row
  is always offered empty;
- the subsidised groups, the unreferred reduction and the cover rule are left out of the document
  when left blank, as the file may leave them out;
- fields the form does not show (the document's year, anything else it holds) are kept as they were.
"""
from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from policy.rules import CATEGORIES, DELIVERY_TYPES, LEVELS, SUBSIDY_SOURCES, PolicyInvalid, parse_policy

from .forms import DraftFacts

BAND_EXTRA = 1
DISEASE_EXTRA = 2

LEVEL_NAMES = {"township": _("乡镇级"), "county": _("县级"), "municipal": _("市级"), "provincial": _("省级")}
GROUP_NAMES = {"wubao": _("五保户"), "dibao": _("低保户"), "poor": _("贫困人口")}
SUBSIDY_NAMES = {"central": _("中央财政补助"), "provincial": _("省级财政补助"), "county": _("县级财政补助")}
DELIVERY_NAMES = {"normal": _("顺产"), "caesarean": _("剖宫产")}
GROUPS = tuple(category for category in CATEGORIES if category != "ordinary")

# The parser's words about a ratio, said of a percentage instead.
PERCENT_REASONS = {"比例最多4位小数": _("百分比最多两位小数"), "比例须在 0 到 1 之间": _("应在 0 到 100 之间")}
# The parser's words about the file's shape, said of the form instead.
FORM_REASONS = {
    "应为至少含一段的列表 [...]": _("至少填写一段"),
    "只有最后一段的上限可以为 null（不封顶）": _("只有最后一段的费用上限可以留空（不封顶）"),
    "最后一段的上限应为 null（不封顶）": _("最后一段的费用上限应留空（不封顶）"),
    "应为非空的文字": _("请填写"),
    # said as the parser says them, in the reader's language
    "缺少此项": _("缺少此项"), "金额不能为负数": _("金额不能为负数"), "金额最多两位小数": _("金额最多两位小数"),
    "不是有效的数字": _("不是有效的数字"), "应为整数": _("应为整数"), "不是有效的日期": _("不是有效的日期"),
    "应为 YYYY-MM-DD 格式的日期": _("应为 YYYY-MM-DD 格式的日期"),
}
PROBLEM = re.compile(r"^(?P<path>[A-Za-z0-9_.\[\]]+)(?:「(?P<value>.*)」)?：(?P<reason>.*)$", re.S)


def _text(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", **attrs})


def money_field(label) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=30, widget=_text())


def percent_field(label) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=12, widget=_text(), help_text=None)


def whole_field(label) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=12,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))


def ratio_to_percent(value) -> str:
    """"0.75" → "75", "0.075" → "7.5"; anything else shown as it was."""
    try:
        number = Decimal(str(value)).scaleb(2)
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)
    if not number.is_finite():
        return str(value)
    return format(number.normalize(), "f") if number else "0"


def percent_to_ratio(text: str):
    """"75" → "0.75" exactly; a text that is no number is passed on for the parser to refuse."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    return format(number.scaleb(-2), "f")


def _whole(text: str):
    return int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else text


def _money_text(value) -> str:
    return "" if value is None else str(value)


class PolicyFieldsForm(DraftFacts):
    """The draft's name, year and assumptions (DraftFacts) and every field of its policy document.

    `document` is the policy document the form starts from and keeps what it does not show. After
    `is_valid()`, `cleaned_data["parsed"]` is the document typed and `cleaned_data["assumptions"]`
    the projection's assumptions; the parser's problems are on the fields they name.
    """

    def __init__(self, *args, document: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.document = copy.deepcopy(document) if isinstance(document, dict) else {}
        doc = self.document
        self._row_of: dict[tuple[str, int], str] = {}  # (list's path, index in the typed file) → field prefix
        self._percent: set[str] = set()
        initial = self.initial

        def add(name, field, value=None):
            self.fields[name] = field
            if value is not None and name not in initial:
                initial[name] = value

        def add_percent(name, label, value):
            add(name, percent_field(label), None if value is None else ratio_to_percent(value))
            self._percent.add(name)

        def get(data, *keys):
            for key in keys:
                if not isinstance(data, dict):
                    return None
                data = data.get(key)
            return data

        add("policy_name", forms.CharField(label=_("方案名称"), required=False, max_length=200), doc.get("name"))
        add("contribution__individual", money_field(_("个人缴费（元/人）")),
            _money_text(get(doc, "contribution", "individual")))
        for source in SUBSIDY_SOURCES:
            add(f"contribution__subsidy__{source}", money_field(_("%(source)s（元/人）") % {
                "source": SUBSIDY_NAMES[source]}), _money_text(get(doc, "contribution", "subsidy", source)))
        add_percent("risk_reserve_rate", _("风险基金提取比例（%）"), doc.get("risk_reserve_rate"))
        add("annual_cap", money_field(_("年度封顶线（元）")), _money_text(doc.get("annual_cap")))
        add("claim_deadline_days", whole_field(_("报销期限（出院后天数）")), _money_text(doc.get("claim_deadline_days")))

        for level in LEVELS:
            add(f"levels__{level}__deductible", money_field(_("起付线（元）")),
                _money_text(get(doc, "levels", level, "deductible")))
            bands = get(doc, "levels", level, "bands")
            bands = bands if isinstance(bands, list) else []
            for row in range(1, self._rows(f"levels__{level}__bands", len(bands) + BAND_EXTRA) + 1):
                band = bands[row - 1] if row <= len(bands) and isinstance(bands[row - 1], dict) else {}
                add(f"levels__{level}__bands_{row}__up_to", money_field(_("费用上限（元）")),
                    _money_text(band.get("up_to")) if band else None)
                add_percent(f"levels__{level}__bands_{row}__ratio", _("补偿比例（%）"), band.get("ratio"))

        unreferred = doc.get("unreferred_reduction") if isinstance(doc.get("unreferred_reduction"), dict) else {}
        add("unreferred_reduction__levels", forms.MultipleChoiceField(
            label=_("未经转诊的级别"), required=False, widget=forms.CheckboxSelectMultiple,
            choices=[(level, LEVEL_NAMES[level]) for level in LEVELS]),
            [level for level in unreferred.get("levels") or [] if level in LEVELS])
        add_percent("unreferred_reduction__ratio_points", _("比例降低（百分点）"), unreferred.get("ratio_points"))

        groups = doc.get("groups") if isinstance(doc.get("groups"), dict) else {}
        for category in GROUPS:
            rule = groups.get(category) if isinstance(groups.get(category), dict) else {}
            add(f"groups__{category}__waive_deductible", forms.BooleanField(label=_("免起付线"), required=False),
                bool(rule.get("waive_deductible")))
            add_percent(f"groups__{category}__ratio_points", _("比例提高（百分点）"), rule.get("ratio_points"))

        for kind in DELIVERY_TYPES:
            add(f"delivery__{kind}", money_field(_("%(kind)s定额（元）") % {"kind": DELIVERY_NAMES[kind]}),
                _money_text(get(doc, "delivery", kind)))

        diseases = doc.get("single_disease") if isinstance(doc.get("single_disease"), list) else []
        level_choices = [("", "—")] + [(level, LEVEL_NAMES[level]) for level in LEVELS]
        for row in range(1, self._rows("single_disease", len(diseases) + DISEASE_EXTRA) + 1):
            entry = diseases[row - 1] if row <= len(diseases) and isinstance(diseases[row - 1], dict) else {}
            prefix = f"single_disease_{row}__"
            add(prefix + "code", forms.CharField(label=_("疾病编码（ICD-10）"), required=False, max_length=20),
                entry.get("code"))
            add(prefix + "name", forms.CharField(label=_("病种名称"), required=False, max_length=100), entry.get("name"))
            add(prefix + "level", forms.ChoiceField(label=_("医院级别"), required=False, choices=level_choices),
                entry.get("level"))
            add(prefix + "payment", money_field(_("定额（元）")), _money_text(entry.get("payment")))

        coverage = doc.get("coverage") if isinstance(doc.get("coverage"), dict) else {}
        add("coverage__collection_end", forms.CharField(
            label=_("集中缴费截止日"), required=False, max_length=10,
            widget=forms.DateInput(attrs={"type": "date"}), help_text=_("此后缴费的人员须等待期满才享受补偿；留空：全年享受")),
            coverage.get("collection_end"))
        add("coverage__waiting_days", whole_field(_("等待期（天）")), _money_text(coverage.get("waiting_days")))

    def _rows(self, prefix: str, shown: int) -> int:
        """How many rows a list gets: those shown, or as many as were posted."""
        if not self.is_bound:
            return shown
        pattern = re.compile(re.escape(prefix) + r"_(\d{1,2})__")
        posted = [int(match.group(1)) for key in self.data if (match := pattern.match(key))]
        return max([shown, *posted])

    # --- the page's sections ------------------------------------------------------------------

    def level_sections(self) -> list[dict]:
        sections = []
        for level in LEVELS:
            rows, row = [], 1
            while f"levels__{level}__bands_{row}__ratio" in self.fields:
                rows.append((self[f"levels__{level}__bands_{row}__up_to"], self[f"levels__{level}__bands_{row}__ratio"]))
                row += 1
            sections.append({"code": level, "name": LEVEL_NAMES[level],
                             "deductible": self[f"levels__{level}__deductible"], "bands": rows})
        return sections

    def group_sections(self) -> list[dict]:
        return [{"code": category, "name": GROUP_NAMES[category],
                 "waive": self[f"groups__{category}__waive_deductible"],
                 "points": self[f"groups__{category}__ratio_points"]} for category in GROUPS]

    def disease_rows(self) -> list[dict]:
        rows, row = [], 1
        while f"single_disease_{row}__code" in self.fields:
            prefix = f"single_disease_{row}__"
            rows.append({key: self[prefix + key] for key in ("code", "name", "level", "payment")})
            row += 1
        return rows

    def fields_named(self, *names: str) -> list:
        return [self[name] for name in names]

    def top_fields(self) -> list:
        return self.fields_named("policy_name", "contribution__individual",
                                 *(f"contribution__subsidy__{source}" for source in SUBSIDY_SOURCES),
                                 "risk_reserve_rate", "annual_cap", "claim_deadline_days",
                                 *(f"delivery__{kind}" for kind in DELIVERY_TYPES))

    # --- back to a document -------------------------------------------------------------------

    def _value(self, name: str) -> str:
        value = self.cleaned_data.get(name)
        return value.strip() if isinstance(value, str) else value

    def _put(self, target: dict, key: str, name: str, convert=None) -> None:
        """Set target[key] from field `name`; a blank field leaves the key out (the parser then
        says what is missing)."""
        text = self._value(name)
        if text in ("", None):
            target.pop(key, None)
            return
        if name in self._percent:
            text = percent_to_ratio(text)
        target[key] = convert(text) if convert else text

    def typed_document(self) -> dict:
        doc = copy.deepcopy(self.document)
        if "year" not in doc and self.cleaned_data.get("base_year"):  # a draft begun from nothing
            doc["year"] = self.cleaned_data["base_year"]
        self._row_of.clear()
        self._put(doc, "name", "policy_name")
        contribution = doc["contribution"] = doc.get("contribution") if isinstance(doc.get("contribution"), dict) else {}
        self._put(contribution, "individual", "contribution__individual")
        subsidy = contribution["subsidy"] = (contribution.get("subsidy")
                                             if isinstance(contribution.get("subsidy"), dict) else {})
        for source in SUBSIDY_SOURCES:
            self._put(subsidy, source, f"contribution__subsidy__{source}")
        self._put(doc, "risk_reserve_rate", "risk_reserve_rate")
        self._put(doc, "annual_cap", "annual_cap")
        self._put(doc, "claim_deadline_days", "claim_deadline_days", _whole)

        levels = doc["levels"] = doc.get("levels") if isinstance(doc.get("levels"), dict) else {}
        for level in LEVELS:
            rule = levels[level] = levels.get(level) if isinstance(levels.get(level), dict) else {}
            self._put(rule, "deductible", f"levels__{level}__deductible")
            bands, row = [], 1
            while f"levels__{level}__bands_{row}__ratio" in self.fields:
                prefix = f"levels__{level}__bands_{row}__"
                if self._value(prefix + "up_to") or self._value(prefix + "ratio"):
                    band = {"up_to": None}
                    self._put(band, "up_to", prefix + "up_to")
                    band.setdefault("up_to", None)  # blank: no upper end (the last band's)
                    self._put(band, "ratio", prefix + "ratio")
                    bands.append(band)
                    self._row_of[(f"levels.{level}.bands", len(bands))] = f"levels__{level}__bands_{row}"
                row += 1
            rule["bands"] = bands

        reduction = {"levels": list(self._value("unreferred_reduction__levels") or [])}
        self._put(reduction, "ratio_points", "unreferred_reduction__ratio_points")
        if reduction["levels"] or "ratio_points" in reduction:
            doc["unreferred_reduction"] = reduction
        else:
            doc.pop("unreferred_reduction", None)

        groups = {}
        for category in GROUPS:
            rule = {"waive_deductible": bool(self._value(f"groups__{category}__waive_deductible"))}
            self._put(rule, "ratio_points", f"groups__{category}__ratio_points")
            if "ratio_points" in rule or rule["waive_deductible"]:
                rule.setdefault("ratio_points", "0")
                groups[category] = rule
        if groups:
            doc["groups"] = groups
        else:
            doc.pop("groups", None)

        delivery = doc["delivery"] = doc.get("delivery") if isinstance(doc.get("delivery"), dict) else {}
        for kind in DELIVERY_TYPES:
            self._put(delivery, kind, f"delivery__{kind}")

        diseases, row = [], 1
        while f"single_disease_{row}__code" in self.fields:
            prefix = f"single_disease_{row}__"
            entry: dict = {}
            for key in ("code", "name", "level", "payment"):
                self._put(entry, key, prefix + key)
            if entry:
                entry.setdefault("name", "")
                diseases.append(entry)
                self._row_of[("single_disease", len(diseases))] = f"single_disease_{row}"
            row += 1
        if diseases:
            doc["single_disease"] = diseases
        else:
            doc.pop("single_disease", None)

        coverage: dict = {}
        self._put(coverage, "collection_end", "coverage__collection_end")
        self._put(coverage, "waiting_days", "coverage__waiting_days", _whole)
        if coverage:
            doc["coverage"] = coverage
        else:
            doc.pop("coverage", None)
        return doc

    def field_for(self, path: str) -> str | None:
        """The field a problem's place in the file names, or the nearest one holding it."""
        name = path
        for (list_path, index), prefix in self._row_of.items():
            head = f"{list_path}[{index}]"
            if name == head or name.startswith(head + "."):
                name = prefix + name[len(head):]
                break
        name = re.sub(r"\[(\d+)\]", r"_\1", name).replace(".", "__")
        if name.endswith("__bands"):  # a level without any band: said of its first row
            name += "_1__ratio"
        while name:
            if name in self.fields:
                return name
            cut = max(name.rfind("__"), name.rfind("_") if re.search(r"_\d+$", name) else -1)
            name = name[:cut] if cut > 0 else ""
        return None

    def clean(self):
        data = super().clean()
        document = self.typed_document()
        try:
            parse_policy(document)
        except PolicyInvalid as exc:
            for problem in exc.errors:
                match = PROBLEM.match(problem)
                field = self.field_for(match.group("path")) if match else None
                if field is None:
                    self.add_error(None, problem)
                    continue
                reason = match.group("reason")
                reason = FORM_REASONS.get(reason, reason)
                if field in self._percent:
                    reason = PERCENT_REASONS.get(reason, reason)
                self.add_error(field, reason)
        data["parsed"] = document
        return data


# --- what a draft changes ---------------------------------------------------------------------

DRAFT_FACTS = ("name", "base_year", "cost_growth", "participation_change")
SECTION_NAMES = {"unreferred_reduction": _("未经转诊住院"), "coverage": _("待遇等待期")}


def field_title(form: PolicyFieldsForm, name: str) -> str:
    """A field as the page names it: its section, its row and its label ("县级 · 第1段 · 补偿比例（%）")."""
    label = str(form.fields[name].label)
    parts = name.split("__")
    head = parts[0]
    if head == "levels":
        band = re.fullmatch(r"bands_(\d+)", parts[2]) if len(parts) > 3 else None
        row = [str(_("第%(row)s段") % {"row": band.group(1)})] if band else []
        return " · ".join([str(LEVEL_NAMES[parts[1]]), *row, label])
    if head == "groups":
        section = GROUP_NAMES[parts[1]]
    elif head.startswith("single_disease_"):
        section = _("单病种 %(row)s") % {"row": head.rsplit("_", 1)[1]}
    elif head in SECTION_NAMES:
        section = SECTION_NAMES[head]
    else:
        return label
    return f"{section} · {label}"


def _shown(form: PolicyFieldsForm, name: str) -> str:
    """A field's value as the form shows it, for reading: blank as "—", a box ticked or not."""
    value = form[name].value() if name in form.fields else None
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list | tuple):
        return "、".join(str(LEVEL_NAMES.get(item, item)) for item in value) or "—"
    return "—" if value in (None, "") else str(value)


def _same(first: str, second: str) -> bool:
    try:
        return Decimal(first) == Decimal(second)
    except (InvalidOperation, ValueError):
        return first == second


def policy_changes(before: dict, after: dict) -> list[dict]:
    """The fields in which the policy document `after` differs from `before`, as the draft form
    shows them (ratios as percentages, amounts in yuan), in the form's order: [{"field", "before",
    "after"}]. 100 and 100.00 are the same amount; bands and diseases compare row by row."""
    old, new = PolicyFieldsForm(document=before), PolicyFieldsForm(document=after)
    names = [name for name in new.fields if name not in DRAFT_FACTS]
    names += [name for name in old.fields if name not in DRAFT_FACTS and name not in new.fields]
    changes = []
    for name in names:
        first, second = _shown(old, name), _shown(new, name)
        if not _same(first, second):
            changes.append({"field": field_title(new if name in new.fields else old, name),
                            "before": first, "after": second})
    return changes
