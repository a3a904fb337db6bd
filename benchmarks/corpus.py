#!/usr/bin/env python
"""Deterministic generator of a realistic Django project's migrations, for speed benchmarks.

    python benchmarks/corpus.py OUT_DIR --migrations 3000 [--apps 30] [--seed 1]

or, from Python::

    from benchmarks.corpus import generate
    paths = generate(Path("/tmp/corpus"), migrations=3000, apps=30, seed=1)

The output is a complete Django project (``manage.py``, ``benchproject/settings.py`` on
SQLite, one package per app) whose migrations can be applied in order with
``python manage.py migrate``.  The generator keeps a model of the migration state (models,
fields, options, indexes, constraints) and only emits operations that are valid against it,
so every file is something Django can load and apply.  Everything is driven by a single
``random.Random(seed)``: the same arguments always produce byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import keyword
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

# (app label, main noun of the app's domain)
APPS = [
    ("accounts", "Account"),
    ("catalog", "Product"),
    ("orders", "Order"),
    ("billing", "Invoice"),
    ("core", "Setting"),
    ("inventory", "StockItem"),
    ("shipping", "Shipment"),
    ("notifications", "Notification"),
    ("reports", "Report"),
    ("cms", "Page"),
    ("blog", "Post"),
    ("analytics", "Metric"),
    ("payments", "Payment"),
    ("subscriptions", "Subscription"),
    ("support", "Ticket"),
    ("integrations", "Integration"),
    ("teams", "Team"),
    ("projects", "Project"),
    ("tasks", "Task"),
    ("documents", "Document"),
    ("audit", "AuditEvent"),
    ("messaging", "Conversation"),
    ("customers", "Customer"),
    ("pricing", "PriceList"),
    ("promotions", "Promotion"),
    ("reviews", "Review"),
    ("assets", "Asset"),
    ("webhooks", "Webhook"),
    ("scheduling", "Appointment"),
    ("locations", "Location"),
    ("staff", "Employee"),
    ("crm", "Lead"),
    ("marketing", "Campaign"),
    ("surveys", "Survey"),
    ("courses", "Course"),
    ("bookings", "Booking"),
    ("forums", "Thread"),
    ("wiki", "Article"),
    ("compliance", "Policy"),
    ("onboarding", "Checklist"),
    ("loyalty", "RewardProgram"),
    ("vendors", "Vendor"),
    ("warehouses", "Warehouse"),
    ("fleet", "Vehicle"),
    ("contracts", "Contract"),
    ("tenants", "Tenant"),
    ("exports", "ExportJob"),
]

NOUNS = [
    "Account", "Address", "Agreement", "Alert", "Announcement", "Answer", "Article", "Asset",
    "Attachment", "Audience", "Badge", "Batch", "Booking", "Brand", "Budget", "Bundle",
    "Campaign", "Card", "Cart", "Category", "Certificate", "Channel", "Charge", "Checklist",
    "Claim", "Client", "Collection", "Comment", "Company", "Contact", "Contract", "Coupon",
    "Course", "Credit", "Customer", "Dashboard", "Deal", "Delivery", "Department", "Device",
    "Discount", "Document", "Domain", "Draft", "Employee", "Event", "Expense", "Feature",
    "Feedback", "Folder", "Form", "Goal", "Holiday", "Incident", "Invoice", "Issue", "Item",
    "Job", "Journal", "Label", "Lead", "Lesson", "License", "Listing", "Location", "Member",
    "Message", "Milestone", "Module", "Note", "Notification", "Offer", "Order", "Organization",
    "Package", "Page", "Partner", "Payment", "Payout", "Plan", "Policy", "Post", "Price",
    "Product", "Profile", "Project", "Promotion", "Question", "Quote", "Rate", "Receipt",
    "Record", "Refund", "Region", "Reminder", "Report", "Request", "Reservation", "Resource",
    "Review", "Role", "Rule", "Schedule", "Section", "Segment", "Session", "Shipment", "Site",
    "Skill", "Source", "Sprint", "Store", "Subscription", "Supplier", "Survey", "Task", "Team",
    "Template", "Tenant", "Ticket", "Token", "Topic", "Transaction", "Transfer", "Trip", "Unit",
    "Upload", "Vendor", "Visit", "Voucher", "Warehouse", "Workflow", "Workspace",
]  # fmt: skip

SUFFIXES = [
    ("", 30), ("Item", 4), ("Line", 3), ("Log", 3), ("Entry", 2), ("Type", 3), ("Status", 2),
    ("History", 2), ("Setting", 2), ("Template", 2), ("Rule", 2), ("Event", 2),
    ("Attachment", 1), ("Note", 1), ("Membership", 2), ("Assignment", 2), ("Translation", 1),
    ("Version", 1), ("Option", 1), ("Link", 1), ("Group", 1), ("Schedule", 1),
    ("Snapshot", 1), ("Request", 1), ("Comment", 1), ("Summary", 1), ("Config", 1),
]  # fmt: skip

FIELD_NAMES = {
    "char": [
        "name", "title", "code", "reference", "status", "label", "external_id", "currency",
        "country", "city", "phone", "first_name", "last_name", "company_name", "kind", "source",
        "locale", "timezone", "color", "icon", "sku", "state", "channel", "provider", "token",
        "display_name", "short_name", "tier", "plan", "region", "postcode", "address_line1",
        "address_line2", "subject", "method", "action", "level", "format", "mime_type",
        "language", "barcode", "priority", "visibility", "frequency", "role", "vat_number",
        "iban", "account_number", "hostname", "version", "checksum", "event_type", "category",
    ],
    "text": [
        "description", "notes", "body", "content", "summary", "comment", "message",
        "instructions", "bio", "details", "reason", "terms", "address", "html", "error_message",
        "internal_notes", "footer", "signature", "excerpt",
    ],
    "int": [
        "quantity", "position", "sort_order", "retries", "attempts", "year", "duration_minutes",
        "capacity", "weight", "rank", "score", "views", "max_uses", "seats", "revision",
        "step", "order_index", "items_count", "failure_count", "threshold", "limit_per_user",
    ],
    "bool": [
        "is_active", "is_public", "is_default", "is_archived", "enabled", "is_verified",
        "is_primary", "is_deleted", "published", "featured", "is_internal", "send_email",
        "notify", "is_locked", "requires_approval", "auto_renew", "is_test", "visible",
        "is_paid", "is_billable", "allow_comments", "is_system",
    ],
    "datetime": [
        "created_at", "updated_at", "published_at", "deleted_at", "expires_at", "started_at",
        "finished_at", "sent_at", "processed_at", "last_login_at", "scheduled_at",
        "archived_at", "verified_at", "cancelled_at", "due_at", "last_synced_at",
        "approved_at", "closed_at",
    ],
    "date": [
        "start_date", "end_date", "due_date", "birth_date", "valid_from", "valid_until",
        "effective_date", "issued_on", "paid_on",
    ],
    "decimal": [
        "price", "amount", "total", "tax_rate", "discount", "balance", "cost", "unit_price",
        "subtotal", "fee", "latitude", "longitude", "weight_kg", "rate", "vat_amount",
    ],
    "float": ["ratio", "percentage", "confidence", "progress"],
    "json": [
        "metadata", "payload", "extra", "data", "attributes", "config", "context",
        "raw_response", "options", "preferences", "headers",
    ],
    "email": ["email", "contact_email", "billing_email", "reply_to", "notification_email"],
    "url": ["url", "website", "callback_url", "image_url", "homepage", "redirect_url"],
    "slug": ["slug", "handle"],
    "uuid": ["uuid", "public_id", "external_uuid"],
    "file": ["file", "attachment", "document", "image", "logo", "avatar", "export_file"],
    "duration": ["duration", "timeout"],
    "ip": ["ip_address", "last_ip"],
}  # fmt: skip

NAME_PREFIXES = [
    "billing", "primary", "secondary", "last", "default", "internal", "external", "legacy",
    "original", "public", "shipping", "max", "min", "new",
]  # fmt: skip

USER_FK_NAMES = [
    "user", "owner", "created_by", "author", "assignee", "updated_by", "reviewer",
    "requested_by", "approved_by", "manager",
]  # fmt: skip
USER_M2M_NAMES = ["members", "participants", "watchers", "subscribers", "assignees", "editors"]

CHOICES = {
    "status": [
        ["draft", "published", "archived"],
        ["pending", "active", "suspended", "closed"],
        ["new", "in_progress", "resolved", "closed"],
        ["pending", "approved", "rejected"],
        ["queued", "running", "succeeded", "failed"],
    ],
    "state": [["draft", "submitted", "approved", "rejected"], ["open", "closed"]],
    "kind": [["standard", "premium", "enterprise"], ["internal", "external"]],
    "source": [["web", "mobile", "api", "import"], ["manual", "sync", "webhook"]],
    "channel": [["email", "sms", "push", "in_app"]],
    "priority": [["low", "normal", "high", "urgent"]],
    "tier": [["free", "basic", "pro", "enterprise"]],
    "visibility": [["public", "private", "internal"]],
    "frequency": [["daily", "weekly", "monthly", "yearly"]],
    "currency": [["EUR", "USD", "GBP", "CHF"]],
    "role": [["owner", "admin", "member", "viewer"]],
    "method": [["card", "bank_transfer", "paypal", "invoice"]],
    "format": [["csv", "xlsx", "json", "pdf"]],
    "level": [["debug", "info", "warning", "error"]],
    "event_type": [["created", "updated", "deleted"], ["login", "logout", "password_reset"]],
    "category": [["general", "billing", "technical", "other"]],
}

HELP_TEXTS = [
    "Used for display purposes only.",
    "Leave blank to use the default.",
    "Shown to customers.",
    "Internal reference, not visible to end users.",
    "Automatically set by the system.",
    "Optional. Overrides the computed value.",
    "In the account currency.",
    "ISO 3166-1 alpha-2 code.",
    "Set when the record was last synchronised with the upstream provider.",
    "Designates whether this entry should be treated as active.",
    "Maximum number of characters shown in listings.",
    "Deprecated, will be removed in a future release.",
]

GROUP_NAMES = [
    "Editors", "Reviewers", "Support agents", "Billing admins", "Account managers",
    "Warehouse staff", "Moderators", "Read only", "Finance", "Operations",
]  # fmt: skip

DJANGO_RELEASES = [
    (dt.date(2020, 8, 4), ["3.1", "3.1.2", "3.1.5", "3.1.7"]),
    (dt.date(2021, 4, 6), ["3.2", "3.2.4", "3.2.9", "3.2.13"]),
    (dt.date(2022, 1, 3), ["4.0", "4.0.2", "4.0.6"]),
    (dt.date(2022, 8, 3), ["4.1", "4.1.3", "4.1.7"]),
    (dt.date(2023, 4, 3), ["4.2", "4.2.4", "4.2.7", "4.2.11"]),
    (dt.date(2023, 12, 4), ["5.0", "5.0.2", "5.0.6"]),
    (dt.date(2024, 8, 7), ["5.1", "5.1.3", "5.1.6"]),
    (dt.date(2025, 4, 2), ["5.2", "5.2.1", "5.2.3"]),
]
TIMELINE_START = dt.datetime(2021, 2, 1, 9, 0)
TIMELINE_END = dt.datetime(2025, 6, 30, 18, 0)

USER = "__user__"
GROUP = "__group__"
CONTENT_TYPE = "__contenttype__"
AUTH_LEAF = "0012_alter_user_first_name_max_length"
CONTENTTYPES_LEAF = "0002_remove_content_type_name"

FIELD_KINDS = [
    ("char", 22), ("text", 6), ("int", 9), ("bool", 12), ("datetime", 9), ("date", 3),
    ("decimal", 5), ("fk", 13), ("m2m", 3), ("o2o", 1), ("json", 4), ("email", 2),
    ("url", 2), ("slug", 1.5), ("uuid", 1.5), ("file", 1.5), ("float", 1),
    ("duration", 0.5), ("ip", 0.5),
]  # fmt: skip
SIMPLE_KINDS = [("char", 5), ("text", 1), ("int", 2), ("bool", 3), ("datetime", 2)]
AUTO_OPS = [
    ("add_field", 30), ("alter_field", 24), ("remove_field", 7), ("rename_field", 3),
    ("create_model", 4), ("alter_options", 6), ("alter_unique_together", 2.5),
    ("add_constraint", 3.5), ("remove_constraint", 1), ("add_index", 4.5),
    ("remove_index", 1.5), ("rename_model", 0.7), ("delete_model", 1),
]  # fmt: skip
INDEXABLE = {"char", "int", "bool", "datetime", "date", "fk", "slug", "decimal", "email", "uuid"}
LINE_LENGTH = 88


# ---------------------------------------------------------------------------
# Small code model + renderer (Django's migration writer, optionally black-formatted)
# ---------------------------------------------------------------------------


class Node:
    magic = False  # rendered one element per line, like a "magic trailing comma"


@dataclass(eq=False)
class Raw(Node):
    text: str


@dataclass(eq=False)
class Str(Node):
    value: str


@dataclass(eq=False)
class Call(Node):
    func: str
    args: list[Node] = field(default_factory=list)
    kwargs: list[tuple[str, Node]] = field(default_factory=list)
    magic: bool = False


@dataclass(eq=False)
class Seq(Node):
    kind: str  # "list", "tuple" or "set"
    items: list[Node]
    magic: bool = False


@dataclass(eq=False)
class Dict(Node):
    items: list[tuple[Node, Node]]
    magic: bool = False


@dataclass(eq=False)
class Block(Node):
    """A triple-quoted string spanning several lines (hand-written SQL)."""

    lines: list[str]


def lit(value: Any) -> Node:
    """Convert a Python literal (or a Node) into a Node."""
    if isinstance(value, Node):
        return value
    if isinstance(value, str):
        return Str(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return Raw(repr(value))
    if isinstance(value, list):
        return Seq("list", [lit(v) for v in value])
    if isinstance(value, tuple):
        return Seq("tuple", [lit(v) for v in value])
    if isinstance(value, dict):
        return Dict([(lit(k), lit(v)) for k, v in value.items()])
    raise TypeError(value)


class Renderer:
    """Render nodes as Django's writer does, or as black would reformat that output."""

    def __init__(self, black: bool) -> None:
        self.black = black

    def q(self, s: str) -> str:
        r = repr(s)
        if self.black and r[0] == "'" and '"' not in s:
            r = '"' + r[1:-1] + '"'
        return r

    def parts(self, node: Node) -> tuple[str, str, list[tuple[str, Node]]]:
        if isinstance(node, Call):
            els = [("", a) for a in node.args] + [(k + "=", v) for k, v in node.kwargs]
            return node.func + "(", ")", els
        if isinstance(node, Seq):
            opener, closer = {"list": "[]", "tuple": "()", "set": "{}"}[node.kind]
            return opener, closer, [("", i) for i in node.items]
        if isinstance(node, Dict):
            return "{", "}", [(f"{self.flat(k)}: ", v) for k, v in node.items]
        raise TypeError(node)

    def flat(self, node: Node) -> str | None:
        if isinstance(node, Raw):
            return node.text
        if isinstance(node, Str):
            return self.q(node.value)
        if isinstance(node, Block):
            return None
        if isinstance(node, Seq) and node.kind == "set" and not node.items:
            return "set()"
        opener, closer, els = self.parts(node)
        bits = []
        for prefix, child in els:
            text = self.flat(child)
            if text is None:
                return None
            bits.append(prefix + text)
        inner = ", ".join(bits)
        if isinstance(node, Seq) and node.kind == "tuple" and len(bits) == 1:
            inner += ","
        return opener + inner + closer

    def render(self, node: Node, indent: int, prefix: str = "", suffix: str = "") -> list[str]:
        pad = " " * indent
        if isinstance(node, Block):
            body = [(" " * (indent + 4) + line) if line else "" for line in node.lines]
            return [f'{pad}{prefix}"""', *body, f'{pad}"""{suffix}']
        text = self.flat(node)
        if text is not None and not node.magic:
            line = pad + prefix + text + suffix
            if not self.black or len(line) <= LINE_LENGTH or isinstance(node, (Raw, Str)):
                return [line]
        opener, closer, els = self.parts(node)
        if not els:
            return [pad + prefix + opener + closer + suffix]
        if self.black and text is not None and isinstance(node, Call) and not node.magic:
            inner = " " * (indent + 4) + text[len(opener) : -len(closer)]
            if len(inner) <= LINE_LENGTH:
                return [pad + prefix + opener, inner, pad + closer + suffix]
        lines = [pad + prefix + opener]
        for child_prefix, child in els:
            lines.extend(self.render(child, indent + 4, child_prefix, ","))
        lines.append(pad + closer + suffix)
        return lines


# ---------------------------------------------------------------------------
# Migration state
# ---------------------------------------------------------------------------


@dataclass
class FieldState:
    name: str
    cls: str
    kwargs: dict[str, Any]
    kind: str
    target: str | None = None  # "app.Model", USER, GROUP or CONTENT_TYPE for relations

    @property
    def column(self) -> str:
        return f"{self.name}_id" if self.kind in ("fk", "o2o") else self.name

    def copy(self) -> FieldState:
        return FieldState(self.name, self.cls, dict(self.kwargs), self.kind, self.target)

    def node(self, **extra: Any) -> Call:
        kwargs = {**self.kwargs, **extra}
        return Call(self.cls, kwargs=[(k, lit(v)) for k, v in sorted(kwargs.items())])


def q_node(condition: list[tuple[str, Any]]) -> Call:
    return Call("models.Q", args=[lit(tuple(c)) for c in condition])


@dataclass
class IndexState:
    name: str
    fields: list[str]
    condition: list[tuple[str, Any]] | None = None

    def node(self) -> Call:
        kwargs: list[tuple[str, Node]] = []
        if self.condition:
            kwargs.append(("condition", q_node(self.condition)))
        kwargs += [("fields", lit(list(self.fields))), ("name", Str(self.name))]
        return Call("models.Index", kwargs=kwargs)


@dataclass
class ConstraintState:
    name: str
    fields: tuple[str, ...]
    condition: list[tuple[str, Any]] | None = None

    def node(self) -> Call:
        kwargs: list[tuple[str, Node]] = []
        if self.condition:
            kwargs.append(("condition", q_node(self.condition)))
        kwargs += [("fields", lit(tuple(self.fields))), ("name", Str(self.name))]
        return Call("models.UniqueConstraint", kwargs=kwargs)


@dataclass
class ModelState:
    app: str
    name: str
    heat: float = 1.0
    fields: dict[str, FieldState] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # AlterModelOptions keys only
    unique_together: list[tuple[str, ...]] = field(default_factory=list)
    indexes: list[IndexState] = field(default_factory=list)
    constraints: list[ConstraintState] = field(default_factory=list)
    referenced: bool = False  # target of a relation: never renamed or deleted
    pinned: set[str] = field(default_factory=set)  # fields used by raw SQL
    used_names: set[str] = field(default_factory=set)  # every field name ever used

    @property
    def lower(self) -> str:
        return self.name.lower()

    @property
    def table(self) -> str:
        return f"{self.app}_{self.lower}"

    def add_field(self, fs: FieldState) -> None:
        self.fields[fs.name] = fs
        self.used_names.add(fs.name)

    def locked(self) -> set[str]:
        """Fields that options, indexes, constraints or raw SQL refer to."""
        names = set(self.pinned) | {"id"}
        names.update(o.lstrip("-") for o in self.options.get("ordering", []))
        if "get_latest_by" in self.options:
            names.add(self.options["get_latest_by"].lstrip("-"))
        for together in self.unique_together:
            names.update(together)
        for item in [*self.indexes, *self.constraints]:
            names.update(f.lstrip("-") for f in item.fields)
            names.update(c[0].split("__")[0] for c in item.condition or [])
        return names

    def of_kind(self, *kinds: str) -> list[FieldState]:
        return [f for f in self.fields.values() if f.kind in kinds and f.name != "id"]


@dataclass
class AppState:
    label: str
    root: str
    black: bool
    fold: bool  # indexes/constraints folded into CreateModel options
    verbose: bool  # i18n-style app: verbose_name on (nearly) every field
    planned: int
    models: dict[str, ModelState] = field(default_factory=dict)
    latest: str | None = None
    number: int = 0
    done: int = 0
    used_model_names: set[str] = field(default_factory=set)
    branch: dict[str, Any] | None = None

    @property
    def renderer(self) -> Renderer:
        return Renderer(self.black)


class Mig:
    """One migration file under construction."""

    def __init__(self, app: AppState, number: int, when: dt.datetime) -> None:
        self.app = app
        self.number = number
        self.when = when
        self.ops: list[Node] = []
        self.fragments: list[str | None] = []
        self.deps: dict[tuple[str, str], None] = {}
        self.swappable = False
        self.functions: list[list[str]] = []
        self.imports: set[str] = set()
        self.initial = False
        self.atomic = True
        self.header = True
        self.name: str | None = None
        self.created: set[str] = set()
        self.touched: set[str] = set()
        self.added: set[tuple[str, str]] = set()
        self.avoid: set[str] = set()  # model names this migration must not touch
        self.simple = False  # restrict to non-relational AddField/AlterField (merge branches)
        self.focus: ModelState | None = None
        self.full_name = ""

    def add(self, node: Node, fragment: str | None) -> None:
        self.ops.append(node)
        self.fragments.append(fragment)

    def suggest_name(self) -> str:
        if self.initial:
            return "initial"
        fragments = [re.sub(r"\W+", "_", f) for f in self.fragments if f]
        if not fragments or len(fragments) != len(self.ops):
            return "auto_" + self.when.strftime("%Y%m%d_%H%M")
        name = fragments[0]
        for fragment in fragments[1:]:
            new_name = f"{name}_{fragment}"
            if len(new_name) > 52:
                return f"{name}_and_more"
            name = new_name
        return name


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return word[:-1] + "ies"
    return word + "s"


def var_name(model: ModelState) -> str:
    name = snake(model.name).split("_")[-1]
    return name + "_obj" if keyword.iskeyword(name) or name in ("apps", "batch") else name


def names_digest(*args: str, length: int) -> str:
    h = hashlib.md5(usedforsecurity=False)
    for arg in args:
        h.update(arg.encode())
    return h.hexdigest()[:length]


def label(value: str) -> str:
    return value if value.isupper() else value.replace("_", " ").capitalize()


def django_version(when: dt.datetime) -> str:
    day = when.date()
    for i, (released, versions) in enumerate(DJANGO_RELEASES):
        nxt = DJANGO_RELEASES[i + 1][0] if i + 1 < len(DJANGO_RELEASES) else None
        if nxt is None or day < nxt:
            if nxt is None:
                return versions[min(len(versions) - 1, (day - released).days // 30)]
            frac = max(0.0, (day - released).days / (nxt - released).days)
            return versions[min(len(versions) - 1, int(frac * len(versions)))]
    return DJANGO_RELEASES[-1][1][-1]


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------


class Generator:
    def __init__(self, migrations: int, apps: int, seed: int, portable: bool = False) -> None:
        if migrations < 1 or apps < 1:
            raise ValueError("need at least one migration and one app")
        self.rng = random.Random(seed)
        # Hand-written SQL that MySQL/MariaDB run too (with ANSI_QUOTES): no ANALYZE, no
        # PostgreSQL index syntax. Off by default: most projects target one database.
        self.portable = portable
        self.total = migrations
        self.n_apps = min(apps, migrations)
        self.apps: dict[str, AppState] = {}
        self.db_names: set[str] = set()  # index/constraint names are database-wide on SQLite
        self.last_when = TIMELINE_START

    # -- randomness helpers -------------------------------------------------

    def pick(self, weighted: list[tuple[Any, float]]) -> Any:
        items, weights = zip(*weighted, strict=True)
        return self.rng.choices(items, weights)[0]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- schedule -----------------------------------------------------------

    def schedule(self) -> list[AppState]:
        r = self.rng
        pool = list(APPS)
        r.shuffle(pool)
        labels: list[tuple[str, str]] = []
        round_ = 1
        while len(labels) < self.n_apps:
            for app_label, root in pool:
                if len(labels) == self.n_apps:
                    break
                labels.append((app_label if round_ == 1 else f"{app_label}{round_}", root))
            round_ += 1
        counts = [1] * self.n_apps
        weights = [1 / (i + 1) ** 0.95 for i in range(self.n_apps)]
        for i in r.choices(range(self.n_apps), weights, k=self.total - self.n_apps):
            counts[i] += 1
        events: list[tuple[float, int, int]] = []
        for i, ((app_label, root), count) in enumerate(zip(labels, counts, strict=True)):
            self.apps[app_label] = AppState(
                label=app_label,
                root=root,
                black=r.random() < 0.6,
                fold=r.random() < 0.6,
                verbose=r.random() < 0.35,
                planned=count,
            )
            start = 0.0 if i < 3 else r.uniform(0.0, 0.85)
            events.append((start, 0, i))
            events.extend((start + (1 - start) * r.random(), 1, i) for _ in range(count - 1))
        events.sort()
        order = list(self.apps.values())
        return [order[i] for _, _, i in events]

    def next_when(self, t: float) -> dt.datetime:
        when = TIMELINE_START + (TIMELINE_END - TIMELINE_START) * t
        when = when.replace(second=0, microsecond=0)
        if when <= self.last_when:
            when = self.last_when + dt.timedelta(minutes=self.rng.randint(1, 30))
        self.last_when = when
        return when

    # -- names --------------------------------------------------------------

    def new_model_name(self, app: AppState) -> str:
        r = self.rng
        for attempt in range(60):
            noun = app.root if attempt < 6 and r.random() < 0.5 else r.choice(NOUNS)
            name = noun + self.pick(SUFFIXES)
            if name not in app.used_model_names:
                return name
        n = 2
        while f"{name}{n}" in app.used_model_names:
            n += 1
        return f"{name}{n}"

    def fresh_name(self, model: ModelState, candidates: list[str]) -> str:
        r = self.rng
        free = [c for c in candidates if c not in model.used_names]
        if free:
            return r.choice(free)
        base = r.choice(candidates)
        for _ in range(40):
            name = f"{r.choice(NAME_PREFIXES)}_{base}"
            if name not in model.used_names:
                return name
        n = 2
        while f"{base}_{n}" in model.used_names:
            n += 1
        return f"{base}_{n}"

    def db_name(self, name: str) -> str:
        name = name[:60]
        candidate, n = name, 2
        while candidate in self.db_names:
            candidate = f"{name}_{n}"
            n += 1
        self.db_names.add(candidate)
        return candidate

    def index_name(self, model: ModelState, fields: list[str]) -> str:
        if self.chance(0.4):
            core = "_".join(f.lstrip("-") for f in fields)
            return self.db_name(f"{model.lower}_{core}"[:26] + "_idx")
        columns = [model.fields[f.lstrip("-")].column for f in fields]
        ordered = [
            ("-" if f.startswith("-") else "") + c for f, c in zip(fields, columns, strict=True)
        ]
        digest = names_digest(model.table, *ordered, "idx", length=6)
        name = f"{model.table[:11]}_{columns[0][:7]}_{digest}_idx"
        if name in self.db_names:
            return self.db_name(f"{model.lower}_{columns[0]}"[:24] + "_idx")
        self.db_names.add(name)
        return name

    def constraint_name(self, model: ModelState, fields: tuple[str, ...], conditional: bool) -> str:
        style = self.rng.randrange(3)
        core = "_".join(fields)
        if style == 0:
            name = f"unique_{model.lower}_{core}"
        elif style == 1:
            name = f"{model.app}_{model.lower}_unique_{core}"
        else:
            name = f"uniq_{model.lower}_{fields[0]}" + ("_active" if conditional else "")
        return self.db_name(name)

    # -- references ---------------------------------------------------------

    def ref(self, mig: Mig, target: str) -> Node:
        if target == USER:
            mig.swappable = True
            return Raw("settings.AUTH_USER_MODEL")
        if target == GROUP:
            mig.deps[("auth", AUTH_LEAF)] = None
            return Str("auth.group")
        if target == CONTENT_TYPE:
            mig.deps[("contenttypes", CONTENTTYPES_LEAF)] = None
            return Str("contenttypes.contenttype")
        app_label, model_name = target.split(".")
        model = self.apps[app_label].models[model_name]
        model.referenced = True
        if app_label != mig.app.label:
            latest = self.apps[app_label].latest
            assert latest is not None
            mig.deps[(app_label, latest)] = None
        return Str(f"{app_label}.{model_name.lower()}")

    def pick_target(self, mig: Mig, model: ModelState, kind: str) -> str:
        r = self.rng
        x = r.random()
        if kind == "o2o" and x < 0.6:
            return USER
        if x < (0.25 if kind == "fk" else 0.3):
            return USER
        if kind == "m2m" and x < 0.38:
            return GROUP
        own = [m for m in mig.app.models.values() if m.name != model.name]
        other = [m for a in self.apps.values() if a is not mig.app for m in a.models.values()]
        if kind != "o2o" and (x > 0.97 or not (own or other)):
            return f"{model.app}.{model.name}"  # self reference ("parent")
        if own and (not other or r.random() < 0.6):
            weights = [m.heat for m in own]
            return f"{mig.app.label}.{r.choices(own, weights)[0].name}"
        if other:
            chosen = r.choice(other)
            return f"{chosen.app}.{chosen.name}"
        return USER

    # -- field factories ----------------------------------------------------

    def decorate(self, mig: Mig, kw: dict[str, Any], name: str) -> None:
        if self.chance(0.85 if mig.app.verbose else 0.15):
            kw["verbose_name"] = name.replace("_", " ")
        if self.chance(0.2 if mig.app.verbose else 0.1):
            kw["help_text"] = self.rng.choice(HELP_TEXTS)

    def new_field(
        self, mig: Mig, model: ModelState, for_add: bool, kind: str | None = None
    ) -> tuple[FieldState, Any]:
        """A new field for ``model`` and, for AddField, a one-off default (or None)."""
        kind = kind or self.pick(SIMPLE_KINDS if mig.simple else FIELD_KINDS)
        if kind in ("fk", "m2m", "o2o"):
            return self.new_relation(mig, model, kind, for_add)
        name = self.fresh_name(model, FIELD_NAMES[kind])
        cls, kw, oneoff = getattr(self, f"kw_{kind}")(model, name, for_add)
        self.decorate(mig, kw, name)
        return FieldState(name, cls, kw, kind), oneoff

    def kw_char(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        r = self.rng
        kw: dict[str, Any] = {}
        oneoff = None
        if name in CHOICES and r.random() < 0.75:
            values = r.choice(CHOICES[name])
            kw["choices"] = [(v, label(v)) for v in values]
            kw["default"] = values[0]
            kw["max_length"] = r.choice([n for n in (16, 20, 32, 50) if n >= max(map(len, values))])
            if r.random() < 0.15:
                kw["db_index"] = True
            return "models.CharField", kw, None
        kw["max_length"] = r.choice([20, 32, 50, 64, 100, 128, 150, 200, 255, 255, 255, 500])
        x = r.random()
        if x < 0.35:
            kw["blank"] = True
        elif x < 0.43:
            kw.update(blank=True, null=True)
        elif x < 0.48:
            kw["unique"] = True
        elif x < 0.52:
            kw["db_index"] = True
        if for_add and not kw.get("null"):
            if kw.get("unique"):
                kw.update(blank=True, null=True)
            elif kw.get("blank") and r.random() < 0.7:
                kw["default"] = ""
            else:
                oneoff = r.choice(["", "", "unknown", "n/a"])
        return "models.CharField", kw, oneoff

    def kw_text(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        kw: dict[str, Any] = {}
        x = self.rng.random()
        if x < 0.55:
            kw["blank"] = True
        elif x < 0.7:
            kw.update(blank=True, null=True)
        elif x < 0.8:
            kw.update(blank=True, default="")
        oneoff = "" if for_add and "default" not in kw and not kw.get("null") else None
        return "models.TextField", kw, oneoff

    def kw_int(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        r = self.rng
        cls = self.pick(
            [
                ("models.IntegerField", 45),
                ("models.PositiveIntegerField", 25),
                ("models.PositiveSmallIntegerField", 15),
                ("models.SmallIntegerField", 5),
                ("models.BigIntegerField", 10),
            ]
        )
        kw: dict[str, Any] = {}
        oneoff = None
        x = r.random()
        if x < 0.7:
            kw["default"] = r.choice([0, 0, 0, 1, 10, 100])
        elif x < 0.9:
            kw.update(blank=True, null=True)
        elif for_add:
            oneoff = 0
        if r.random() < 0.15:
            validators = [Call("django.core.validators.MinValueValidator", [Raw("0")])]
            if r.random() < 0.4:
                validators.append(
                    Call(
                        "django.core.validators.MaxValueValidator",
                        [Raw(str(r.choice([5, 10, 100, 1000])))],
                    )
                )
            kw["validators"] = Seq("list", list(validators))
        return cls, kw, oneoff

    def kw_bool(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        if self.chance(0.05):
            return "models.BooleanField", {"blank": True, "null": True}, None
        default = name in ("is_active", "enabled", "visible", "notify", "send_email")
        return (
            "models.BooleanField",
            {"default": default if self.chance(0.85) else not default},
            None,
        )

    def kw_datetime(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        r = self.rng
        now = Raw("django.utils.timezone.now")
        if name in ("created_at", "created"):
            return "models.DateTimeField", {"auto_now_add": True}, now if for_add else None
        if name in ("updated_at", "modified"):
            return "models.DateTimeField", {"auto_now": True}, now if for_add else None
        kw: dict[str, Any] = {}
        oneoff = None
        x = r.random()
        if x < 0.65:
            kw.update(blank=True, null=True)
        elif x < 0.85:
            kw["default"] = now
        elif for_add:
            oneoff = now
        if r.random() < 0.1:
            kw["db_index"] = True
        return "models.DateTimeField", kw, oneoff

    def kw_date(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        x = self.rng.random()
        if x < 0.7:
            return "models.DateField", {"blank": True, "null": True}, None
        if x < 0.85:
            return "models.DateField", {"default": Raw("datetime.date.today")}, None
        return "models.DateField", {}, Raw("django.utils.timezone.now") if for_add else None

    def kw_decimal(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        r = self.rng
        places = 6 if name in ("latitude", "longitude") else (4 if "rate" in name else 2)
        kw: dict[str, Any] = {"decimal_places": places, "max_digits": r.choice([8, 10, 12, 14, 19])}
        if places == 6:
            kw["max_digits"] = 9
        oneoff = None
        x = r.random()
        if x < 0.4:
            kw["default"] = 0
        elif x < 0.6:
            kw["default"] = Call("decimal.Decimal", [Str("0.00")])
        elif x < 0.9:
            kw.update(blank=True, null=True)
        elif for_add:
            oneoff = 0
        if r.random() < 0.1:
            kw["validators"] = Seq(
                "list",
                [
                    Call(
                        "django.core.validators.MinValueValidator",
                        [Call("decimal.Decimal", [Str("0")])],
                    )
                ],
            )
        return "models.DecimalField", kw, oneoff

    def kw_float(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        if self.chance(0.6):
            return "models.FloatField", {"default": 0.0}, None
        return "models.FloatField", {"blank": True, "null": True}, None

    def kw_json(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        x = self.rng.random()
        if x < 0.6:
            kw: dict[str, Any] = {"blank": True, "default": Raw("dict")}
        elif x < 0.9:
            kw = {"blank": True, "null": True}
        else:
            kw = {"blank": True, "default": Raw("list")}
        if self.chance(0.15):
            kw["encoder"] = Raw("django.core.serializers.json.DjangoJSONEncoder")
        return "models.JSONField", kw, None

    def kw_email(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        kw: dict[str, Any] = {"max_length": 254}
        if self.chance(0.1):
            kw["unique"] = True
            if for_add:
                kw.update(blank=True, null=True)
        elif self.chance(0.6) or for_add:
            kw["blank"] = True
            if for_add:
                kw["default"] = ""
        return "models.EmailField", kw, None

    def kw_url(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        kw: dict[str, Any] = {"blank": True, "max_length": self.rng.choice([200, 200, 500, 1024])}
        if for_add:
            kw["default"] = ""
        return "models.URLField", kw, None

    def kw_slug(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        kw: dict[str, Any] = {"max_length": self.rng.choice([50, 100, 255])}
        if self.chance(0.4):
            kw["unique"] = True
        if for_add or not kw.get("unique"):
            kw["blank"] = True
            if for_add:
                kw["null"] = True
        return "models.SlugField", kw, None

    def kw_uuid(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        kw: dict[str, Any] = {"default": Raw("uuid.uuid4"), "editable": False}
        if self.chance(0.6):
            kw["unique"] = True
        return "models.UUIDField", kw, None

    def kw_file(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        r = self.rng
        upload_to = r.choice(
            [f"{model.app}/{snake(model.name)}/", "uploads/%Y/%m/%d/", f"{plural(name)}/"]
        )
        kw: dict[str, Any] = {"blank": True, "upload_to": upload_to}
        if r.random() < 0.5 or for_add:
            kw["null"] = True
        if r.random() < 0.2:
            kw["max_length"] = 255
        return (
            "models.ImageField" if name in ("image", "logo", "avatar") else "models.FileField",
            kw,
            None,
        )

    def kw_duration(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        if self.chance(0.5):
            return (
                "models.DurationField",
                {"default": Raw("datetime.timedelta(seconds=3600)")},
                None,
            )
        return "models.DurationField", {"blank": True, "null": True}, None

    def kw_ip(self, model: ModelState, name: str, for_add: bool) -> tuple[str, dict, Any]:
        return "models.GenericIPAddressField", {"blank": True, "null": True}, None

    def new_relation(
        self, mig: Mig, model: ModelState, kind: str, for_add: bool
    ) -> tuple[FieldState, Any]:
        r = self.rng
        target = self.pick_target(mig, model, kind)
        if target == USER:
            names = {"fk": USER_FK_NAMES, "m2m": USER_M2M_NAMES, "o2o": ["user", "account_user"]}[
                kind
            ]
        elif target == GROUP:
            names = ["groups", "allowed_groups"] if kind == "m2m" else ["group"]
        elif target == f"{model.app}.{model.name}":
            names = ["related", "linked"] if kind == "m2m" else ["parent", "previous", "original"]
        else:
            base = snake(target.split(".")[1])
            names = [plural(base)] if kind == "m2m" else [base]
        name = self.fresh_name(model, names)
        kw: dict[str, Any] = {}
        oneoff = None
        if kind == "m2m":
            cls = "models.ManyToManyField"
            if r.random() < 0.7:
                kw["blank"] = True
        else:
            cls = "models.ForeignKey" if kind == "fk" else "models.OneToOneField"
            x = r.random()
            if kind == "o2o" or x < 0.6:
                on_delete = "CASCADE"
            elif x < 0.75:
                on_delete = "PROTECT"
            elif x < 0.97:
                on_delete = "SET_NULL"
            else:
                on_delete = "DO_NOTHING"
            kw["on_delete"] = Raw(f"django.db.models.deletion.{on_delete}")
            if on_delete == "SET_NULL" or r.random() < 0.1:
                kw.update(blank=True, null=True)
            if for_add and not kw.get("null"):
                if r.random() < 0.7:
                    kw.update(blank=True, null=True)
                else:
                    oneoff = 1
        if r.random() < 0.45:
            kw["related_name"] = "+" if r.random() < 0.05 else plural(snake(model.name))
        if mig.app.verbose and r.random() < 0.85:
            kw["verbose_name"] = name.replace("_", " ")
        kw["to"] = self.ref(mig, target)
        return FieldState(name, cls, kw, kind, target), oneoff

    def id_field(self, uuid_pk: bool) -> FieldState:
        if uuid_pk:
            kw: dict[str, Any] = {"default": Raw("uuid.uuid4"), "editable": False}
            kw.update(primary_key=True, serialize=False)
            return FieldState("id", "models.UUIDField", kw, "pk")
        kw = {"auto_created": True, "primary_key": True, "serialize": False, "verbose_name": "ID"}
        return FieldState("id", "models.BigAutoField", kw, "pk")

    def field_count(self, initial: bool) -> int:
        r = self.rng
        x = r.random()
        if x < (0.12 if initial else 0.2):
            return r.randint(2, 4)
        if x < (0.5 if initial else 0.6):
            return r.randint(5, 10)
        if x < (0.85 if initial else 0.9):
            return r.randint(11, 18)
        return r.randint(19, 25)

    # -- model-level choices -------------------------------------------------

    def pick_model(self, mig: Mig, exclude_touched: bool = False) -> ModelState | None:
        cands = [
            m
            for m in mig.app.models.values()
            if m.name not in mig.created
            and m.name not in mig.avoid
            and not (exclude_touched and m.name in mig.touched)
        ]
        if not cands:
            return None
        if mig.focus is not None and mig.focus in cands and self.chance(0.6):
            return mig.focus
        mig.focus = self.rng.choices(cands, [m.heat for m in cands])[0]
        return mig.focus

    def ordering_for(self, model: ModelState) -> list[str] | None:
        r = self.rng
        options: list[list[str]] = []
        for f in model.of_kind("datetime"):
            options.append([f"-{f.name}"])
        for f in model.of_kind("char", "slug"):
            if f.name in ("name", "title", "code", "label", "display_name", "slug"):
                options.append([f.name])
        for f in model.of_kind("int"):
            if f.name in ("position", "sort_order", "order_index", "rank"):
                options.append([f.name, "id"])
        options.append(["-id"])
        return r.choice(options)

    def verbose_names(self, model: ModelState) -> dict[str, str]:
        words = snake(model.name).replace("_", " ")
        out = {"verbose_name": words}
        if self.chance(0.8):
            out["verbose_name_plural"] = plural(words)
        return out

    def indexable(self, model: ModelState) -> list[FieldState]:
        return [f for f in model.fields.values() if f.kind in INDEXABLE]

    def new_index(self, model: ModelState) -> IndexState | None:
        r = self.rng
        cands = self.indexable(model)
        if not cands:
            return None
        n = 1 if r.random() < 0.6 or len(cands) < 2 else 2
        chosen = r.sample(cands, n)
        fields = [
            ("-" if f.kind == "datetime" and r.random() < 0.4 else "") + f.name for f in chosen
        ]
        condition = None
        bools = [f for f in model.of_kind("bool") if not f.kwargs.get("null")]
        if bools and r.random() < 0.12:
            condition = [(r.choice(bools).name, True)]
        ix = IndexState(self.index_name(model, fields), fields, condition)
        if any(ix.fields == other.fields for other in model.indexes):
            self.db_names.discard(ix.name)
            return None
        return ix

    def new_condition(
        self, model: ModelState, exclude: tuple[str, ...]
    ) -> list[tuple[str, Any]] | None:
        r = self.rng
        options: list[tuple[str, Any]] = []
        for f in model.of_kind("bool"):
            if f.name not in exclude and not f.kwargs.get("null"):
                options.append((f.name, f.name not in ("is_deleted", "is_archived")))
        for f in model.of_kind("datetime"):
            if f.name not in exclude and f.kwargs.get("null"):
                options.append((f"{f.name}__isnull", True))
        for f in model.of_kind("char"):
            if f.name not in exclude and "choices" in f.kwargs:
                options.append((f.name, r.choice(f.kwargs["choices"])[0]))
        return [r.choice(options)] if options else None

    def new_constraint(self, model: ModelState) -> ConstraintState | None:
        r = self.rng
        cands = [f for f in self.indexable(model) if f.kind not in ("bool", "datetime", "date")]
        if not cands:
            return None
        rels = [f for f in cands if f.kind == "fk"]
        first = r.choice(rels) if rels and r.random() < 0.7 else r.choice(cands)
        others = [f for f in cands if f is not first]
        fields = (first.name,)
        if others and r.random() < 0.75:
            fields += tuple(f.name for f in r.sample(others, min(len(others), r.choice([1, 1, 2]))))
        condition = self.new_condition(model, fields) if r.random() < 0.45 else None
        if any(set(c.fields) == set(fields) for c in model.constraints):
            return None
        return ConstraintState(
            self.constraint_name(model, fields, bool(condition)), fields, condition
        )

    def new_unique_together(self, model: ModelState) -> list[tuple[str, ...]] | None:
        cands = [f for f in self.indexable(model) if f.kind not in ("bool", "datetime")]
        if len(cands) < 2:
            return None
        chosen = self.rng.sample(cands, 2 if self.chance(0.8) or len(cands) < 3 else 3)
        return [tuple(f.name for f in chosen)]

    # -- operations --------------------------------------------------------

    def op_create_model(self, mig: Mig, initial: bool = False) -> bool:
        r = self.rng
        app = mig.app
        model = ModelState(app.label, self.new_model_name(app), heat=r.lognormvariate(0, 1))
        app.used_model_names.add(model.name)
        model.add_field(self.id_field(uuid_pk=r.random() < 0.05))
        timestamped = r.random() < 0.22
        if timestamped:
            model.add_field(
                FieldState("created_at", "models.DateTimeField", {"auto_now_add": True}, "datetime")
            )
            model.add_field(
                FieldState("updated_at", "models.DateTimeField", {"auto_now": True}, "datetime")
            )
        if r.random() < 0.05:
            ct = FieldState("content_type", "models.ForeignKey", {}, "fk", CONTENT_TYPE)
            ct.kwargs = {
                "on_delete": Raw("django.db.models.deletion.CASCADE"),
                "to": self.ref(mig, CONTENT_TYPE),
            }
            model.add_field(ct)
            model.add_field(FieldState("object_id", "models.PositiveIntegerField", {}, "int"))
        app.models[model.name] = model  # visible for self/same-migration references
        mig.created.add(model.name)
        for _ in range(self.field_count(initial)):
            fs, _ = self.new_field(mig, model, for_add=False)
            model.add_field(fs)

        options: dict[str, Any] = {}
        if r.random() < 0.3:
            options.update(self.verbose_names(model))
        if r.random() < 0.4:
            options["ordering"] = self.ordering_for(model)
        if r.random() < 0.04:
            options["permissions"] = [
                (f"export_{model.lower}", f"Can export {snake(model.name).replace('_', ' ')}")
            ]
        if r.random() < 0.05 and model.of_kind("datetime"):
            options["get_latest_by"] = r.choice(model.of_kind("datetime")).name
        model.options = dict(options)
        if timestamped:
            options["abstract"] = False

        if r.random() < 0.12 and (ut := self.new_unique_together(model)):
            model.unique_together = ut
        if "content_type" in model.fields:
            name = self.index_name(model, ["content_type", "object_id"])
            model.indexes.append(IndexState(name, ["content_type", "object_id"]))
        if r.random() < 0.2:
            for _ in range(r.choice([1, 1, 1, 2, 3])):
                if ix := self.new_index(model):
                    model.indexes.append(ix)
        if r.random() < 0.15:
            for _ in range(r.choice([1, 1, 2])):
                if con := self.new_constraint(model):
                    model.constraints.append(con)

        late: list[tuple[Node, str]] = []
        if app.fold:
            if model.unique_together:
                options["unique_together"] = self.together_node(model.unique_together)
            if model.indexes:
                options["indexes"] = Seq("list", [ix.node() for ix in model.indexes])
            if model.constraints:
                options["constraints"] = Seq("list", [c.node() for c in model.constraints])
        else:
            for ix in model.indexes:
                late.append((self.add_index_node(model, ix), f"{model.lower}_{ix.name.lower()}"))
            for con in model.constraints:
                late.append(
                    (self.add_constraint_node(model, con), f"{model.lower}_{con.name.lower()}")
                )
            if model.unique_together:
                node = Call(
                    "migrations.AlterUniqueTogether",
                    kwargs=[
                        ("name", Str(model.lower)),
                        ("unique_together", self.together_node(model.unique_together)),
                    ],
                    magic=True,
                )
                late.append((node, f"alter_{model.lower}_unique_together"))

        kwargs: list[tuple[str, Node]] = [
            ("name", Str(model.name)),
            (
                "fields",
                Seq(
                    "list",
                    [Seq("tuple", [Str(f.name), f.node()]) for f in model.fields.values()],
                    magic=True,
                ),
            ),
        ]
        if options:
            kwargs.append(
                ("options", Dict([(Str(k), lit(v)) for k, v in options.items()], magic=True))
            )
        mig.add(Call("migrations.CreateModel", kwargs=kwargs, magic=True), model.lower)
        for node, fragment in late:
            mig.add(node, fragment)
        return True

    def together_node(self, together: list[tuple[str, ...]]) -> Seq:
        r = Renderer(False)
        items = sorted((lit(t) for t in together), key=lambda n: r.flat(n) or "")
        return Seq("set", items)

    def add_index_node(self, model: ModelState, ix: IndexState) -> Call:
        return Call(
            "migrations.AddIndex",
            kwargs=[("model_name", Str(model.lower)), ("index", ix.node())],
            magic=True,
        )

    def add_constraint_node(self, model: ModelState, con: ConstraintState) -> Call:
        return Call(
            "migrations.AddConstraint",
            kwargs=[("model_name", Str(model.lower)), ("constraint", con.node())],
            magic=True,
        )

    def field_op(self, op: str, model: ModelState, fs: FieldState, oneoff: Any) -> Call:
        extra = {"default": oneoff} if oneoff is not None else {}
        kwargs: list[tuple[str, Node]] = [
            ("model_name", Str(model.lower)),
            ("name", Str(fs.name)),
            ("field", fs.node(**extra)),
        ]
        if oneoff is not None:
            kwargs.append(("preserve_default", Raw("False")))
        return Call(f"migrations.{op}", kwargs=kwargs, magic=True)

    def op_add_field(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None:
            return False
        fs, oneoff = self.new_field(mig, model, for_add=True)
        mig.add(self.field_op("AddField", model, fs, oneoff), f"{model.lower}_{fs.name}")
        model.add_field(fs)
        mig.added.add((model.name, fs.name))
        mig.touched.add(model.name)
        return True

    def mutate_field(self, fs: FieldState) -> tuple[FieldState, Any]:
        r = self.rng
        new = fs.copy()
        kw = new.kwargs
        oneoff = None
        kind = fs.kind
        choices: list[str] = ["help_text", "verbose_name"]
        if kind in (
            "char",
            "text",
            "email",
            "url",
            "slug",
            "date",
            "datetime",
            "decimal",
            "int",
            "file",
        ):
            choices += ["null"] * 2
        if kind in ("char", "slug", "url", "decimal"):
            choices += ["size"] * 4
        if kind in ("char", "slug", "datetime", "int", "date", "email"):
            choices += ["db_index"]
        if kind == "char" and fs.name in CHOICES:
            choices += ["choices"] * 4
        if kind in ("int", "bool", "json"):
            choices += ["default"] * 3
        if kind == "int":
            choices += ["int_class", "validators"]
        if kind in ("fk", "o2o"):
            choices += ["on_delete"] * 3 + ["related_name"] * 2
        if kind == "m2m":
            choices += ["related_name", "blank"]
        if kind == "char" and not kw.get("unique") and "choices" not in kw:
            choices += ["to_text"]
        for change in r.sample(choices, 2 if r.random() < 0.25 else 1):
            if change == "help_text":
                options = [h for h in HELP_TEXTS if h != kw.get("help_text")]
                kw["help_text"] = r.choice(options)
            elif change == "verbose_name":
                words = fs.name.replace("_", " ")
                kw["verbose_name"] = (
                    words.capitalize() if kw.get("verbose_name") == words else words
                )
            elif change == "null":
                if kw.get("null"):
                    kw.pop("null")
                    if kind in ("char", "text", "email", "url"):
                        kw["default"] = ""
                else:
                    kw.update(blank=True, null=True)
            elif change == "size":
                if kind == "decimal":
                    kw["max_digits"] = kw["max_digits"] + r.choice([2, 4])
                else:
                    bigger = [
                        n
                        for n in (64, 100, 128, 200, 255, 500, 1000, 2048)
                        if n > kw.get("max_length", 0)
                    ]
                    kw["max_length"] = r.choice(bigger) if bigger else kw.get("max_length", 255) * 2
            elif change == "db_index":
                if kw.get("db_index"):
                    kw.pop("db_index")
                elif not kw.get("unique"):
                    kw["db_index"] = True
            elif change == "choices":
                values = r.choice(CHOICES[fs.name])
                if "choices" in kw and r.random() < 0.5:
                    values = [c[0] for c in kw["choices"]] + [
                        v
                        for v in r.choice(CHOICES[fs.name])
                        if v not in [c[0] for c in kw["choices"]]
                    ]
                kw["choices"] = [(v, label(v)) for v in values]
                kw["default"] = values[0]
                kw["max_length"] = max(kw.get("max_length", 0), 32)
            elif change == "default":
                if kind == "bool":
                    kw = new.kwargs = {k: v for k, v in kw.items() if k not in ("null", "blank")}
                    kw["default"] = not kw.get("default", False)
                elif kind == "int":
                    kw.pop("null", None)
                    kw["default"] = r.choice([0, 1, 5, 10, 30, 100])
                else:
                    kw.pop("null", None)
                    kw["default"] = Raw("dict")
            elif change == "int_class":
                new.cls = r.choice(
                    [
                        c
                        for c in (
                            "models.PositiveIntegerField",
                            "models.BigIntegerField",
                            "models.IntegerField",
                        )
                        if c != fs.cls
                    ]
                )
            elif change == "validators":
                kw["validators"] = Seq(
                    "list", [Call("django.core.validators.MinValueValidator", [Raw("1")])]
                )
            elif change == "on_delete":
                current = kw["on_delete"].text.rsplit(".", 1)[1]
                options = [o for o in ("CASCADE", "PROTECT", "SET_NULL") if o != current]
                chosen = r.choice(options) if kind == "fk" else "CASCADE"
                kw["on_delete"] = Raw(f"django.db.models.deletion.{chosen}")
                if chosen == "SET_NULL":
                    kw.update(blank=True, null=True)
            elif change == "related_name":
                base = plural(fs.name) if kind != "m2m" else fs.name
                kw["related_name"] = r.choice([f"{base}_set", f"related_{base}", base])
            elif change == "blank":
                if kw.get("blank"):
                    kw.pop("blank")
                else:
                    kw["blank"] = True
            elif change == "to_text":
                new.cls, new.kind = "models.TextField", "text"
                kw.pop("max_length", None)
                kw.pop("db_index", None)
        if new.kwargs == fs.kwargs and new.cls == fs.cls:
            new.kwargs["help_text"] = r.choice(
                [h for h in HELP_TEXTS if h != fs.kwargs.get("help_text")]
            )
        return new, oneoff

    def op_alter_field(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None:
            return False
        cands = [
            f
            for f in model.fields.values()
            if f.kind != "pk"
            and (model.name, f.name) not in mig.added
            and not (mig.simple and f.kind in ("fk", "o2o", "m2m"))
        ]
        if not cands:
            return False
        fs = self.rng.choice(cands)
        new, oneoff = self.mutate_field(fs)
        if new.kind != fs.kind and fs.name in model.locked():
            return False
        model.fields[fs.name] = new
        if new.target is not None:
            self.ref(mig, new.target)  # makemigrations depends on the related model's app
        mig.add(self.field_op("AlterField", model, new, oneoff), f"alter_{model.lower}_{fs.name}")
        mig.touched.add(model.name)
        return True

    def removable(self, mig: Mig, model: ModelState) -> list[FieldState]:
        locked = model.locked()
        return [
            f
            for f in model.fields.values()
            if f.kind != "pk" and f.name not in locked and (model.name, f.name) not in mig.added
        ]

    def op_remove_field(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None or len(model.fields) < 4:
            return False
        cands = self.removable(mig, model)
        if not cands:
            return False
        fs = self.rng.choice(cands)
        del model.fields[fs.name]
        node = Call(
            "migrations.RemoveField",
            kwargs=[("model_name", Str(model.lower)), ("name", Str(fs.name))],
            magic=True,
        )
        mig.add(node, f"remove_{model.lower}_{fs.name}")
        mig.touched.add(model.name)
        return True

    def op_rename_field(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None:
            return False
        cands = [f for f in self.removable(mig, model) if f.kind not in ("fk", "o2o", "m2m")]
        if not cands:
            return False
        fs = self.rng.choice(cands)
        new_name = self.fresh_name(model, FIELD_NAMES.get(fs.kind, [fs.name]))
        new = fs.copy()
        new.name = new_name
        model.fields = {
            (new_name if k == fs.name else k): (new if k == fs.name else v)
            for k, v in model.fields.items()
        }
        model.used_names.add(new_name)
        node = Call(
            "migrations.RenameField",
            kwargs=[
                ("model_name", Str(model.lower)),
                ("old_name", Str(fs.name)),
                ("new_name", Str(new_name)),
            ],
            magic=True,
        )
        mig.add(node, f"rename_{fs.name}_{model.lower}_{new_name}")
        mig.added.add((model.name, new_name))
        mig.touched.add(model.name)
        return True

    def op_alter_options(self, mig: Mig) -> bool:
        r = self.rng
        model = self.pick_model(mig)
        if model is None:
            return False
        old = model.options
        new = dict(old)
        for change in r.sample(
            ["ordering", "verbose", "permissions", "latest", "drop"], r.choice([1, 1, 2])
        ):
            if change == "ordering":
                new["ordering"] = self.ordering_for(model)
            elif change == "verbose":
                new.update(self.verbose_names(model))
                if r.random() < 0.3:
                    new["verbose_name"] = new["verbose_name"].title()
            elif change == "permissions":
                words = snake(model.name).replace("_", " ")
                perms = [(f"view_all_{model.lower}", f"Can view all {plural(words)}")]
                if r.random() < 0.5:
                    perms.append((f"export_{model.lower}", f"Can export {plural(words)}"))
                new["permissions"] = perms
            elif change == "latest" and model.of_kind("datetime"):
                new["get_latest_by"] = r.choice(model.of_kind("datetime")).name
            elif change == "drop" and new:
                new.pop(r.choice(sorted(new)))
        if new == old:
            new.update(self.verbose_names(model))
            if new == old:
                return False
        order = ["verbose_name", "verbose_name_plural", "ordering", "permissions", "get_latest_by"]
        model.options = {k: new[k] for k in order if k in new}
        node = Call(
            "migrations.AlterModelOptions",
            kwargs=[
                ("name", Str(model.lower)),
                ("options", Dict([(Str(k), lit(v)) for k, v in model.options.items()], magic=True)),
            ],
            magic=True,
        )
        mig.add(node, f"alter_{model.lower}_options")
        mig.touched.add(model.name)
        return True

    def op_alter_unique_together(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None:
            return False
        if model.unique_together and self.chance(0.35):
            new: list[tuple[str, ...]] = []
        else:
            new = self.new_unique_together(model) or []
        if new == model.unique_together:
            return False
        model.unique_together = new
        node = Call(
            "migrations.AlterUniqueTogether",
            kwargs=[("name", Str(model.lower)), ("unique_together", self.together_node(new))],
            magic=True,
        )
        mig.add(node, f"alter_{model.lower}_unique_together")
        mig.touched.add(model.name)
        return True

    def op_add_constraint(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        con = self.new_constraint(model) if model else None
        if model is None or con is None:
            return False
        model.constraints.append(con)
        mig.add(self.add_constraint_node(model, con), f"{model.lower}_{con.name.lower()}")
        mig.touched.add(model.name)
        return True

    def op_remove_constraint(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None or not model.constraints:
            return False
        con = self.rng.choice(model.constraints)
        model.constraints.remove(con)
        node = Call(
            "migrations.RemoveConstraint",
            kwargs=[("model_name", Str(model.lower)), ("name", Str(con.name))],
            magic=True,
        )
        mig.add(node, f"remove_{model.lower}_{con.name.lower()}")
        mig.touched.add(model.name)
        return True

    def op_add_index(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        ix = self.new_index(model) if model else None
        if model is None or ix is None:
            return False
        model.indexes.append(ix)
        mig.add(self.add_index_node(model, ix), f"{model.lower}_{ix.name.lower()}")
        mig.touched.add(model.name)
        return True

    def op_remove_index(self, mig: Mig) -> bool:
        model = self.pick_model(mig)
        if model is None or not model.indexes:
            return False
        ix = self.rng.choice(model.indexes)
        model.indexes.remove(ix)
        node = Call(
            "migrations.RemoveIndex",
            kwargs=[("model_name", Str(model.lower)), ("name", Str(ix.name))],
            magic=True,
        )
        mig.add(node, f"remove_{model.lower}_{ix.name.lower()}")
        mig.touched.add(model.name)
        return True

    def op_rename_model(self, mig: Mig) -> bool:
        app = mig.app
        cands = [
            m
            for m in app.models.values()
            if not m.referenced and m.name not in mig.created | mig.touched | mig.avoid
        ]
        if not cands:
            return False
        model = self.rng.choice(cands)
        old = model.name
        model.name = self.new_model_name(app)
        app.used_model_names.add(model.name)
        app.models = {(model.name if k == old else k): v for k, v in app.models.items()}
        node = Call(
            "migrations.RenameModel",
            kwargs=[("old_name", Str(old)), ("new_name", Str(model.name))],
            magic=True,
        )
        mig.add(node, f"rename_{old.lower()}_{model.lower}")
        mig.touched.add(model.name)
        return True

    def op_delete_model(self, mig: Mig) -> bool:
        app = mig.app
        cands = [
            m
            for m in app.models.values()
            if not m.referenced and m.name not in mig.created | mig.touched | mig.avoid
        ]
        if len(app.models) < 4 or not cands:
            return False
        model = self.rng.choice(cands)
        del app.models[model.name]
        mig.add(
            Call("migrations.DeleteModel", kwargs=[("name", Str(model.name))], magic=True),
            f"delete_{model.lower}",
        )
        return True

    def auto_ops(self, mig: Mig, count: int) -> None:
        ops = [("add_field", 3), ("alter_field", 2)] if mig.simple else AUTO_OPS
        for _ in range(count):
            for _attempt in range(8):
                if getattr(self, "op_" + self.pick(ops))(mig):
                    break
        if not mig.ops:
            if mig.simple:
                self.op_add_field(mig)
            if not mig.ops:
                self.op_create_model(mig)

    def op_count(self) -> int:
        r = self.rng
        x = r.random()
        if x < 0.38:
            return 1
        if x < 0.55:
            return 2
        if x < 0.65:
            return 3
        if x < 0.83:
            return r.randint(4, 7)
        if x < 0.95:
            return r.randint(8, 16)
        return r.randint(17, 45)

    # -- hand-written migrations ---------------------------------------------

    def model_get(self, q: Any, mig: Mig, model: ModelState) -> str:
        return f"    {model.name} = apps.get_model({q(mig.app.label)}, {q(model.name)})"

    def data_functions(
        self, mig: Mig, model: ModelState
    ) -> tuple[str, str | None, list[list[str]], str]:
        """RunPython forward/reverse functions touching ``model``; returns their names and code."""
        r = self.rng
        q = mig.app.renderer.q
        m, v = model.name, var_name(model)
        snake_m = snake(m)
        get = self.model_get(q, mig, model)
        alias = "    db_alias = schema_editor.connection.alias"
        manager = f"{m}.objects.using(db_alias)"
        variants: list[str] = []
        chars = [
            f
            for f in model.of_kind("char")
            if "choices" not in f.kwargs and not f.kwargs.get("null")
        ]
        choice_fields = [f for f in model.of_kind("char") if "choices" in f.kwargs]
        ints = [
            f for f in model.of_kind("int") if not f.kwargs.get("null") and f.name != "object_id"
        ]
        bools = [f for f in model.of_kind("bool") if not f.kwargs.get("null")]
        nullable_dts = [f for f in model.of_kind("datetime") if f.kwargs.get("null")]
        jsons = [f for f in model.of_kind("json") if not f.kwargs.get("null")]
        if chars:
            variants += ["char_rows"] * 3
        if len(chars) >= 2:
            variants += ["copy"]
        if choice_fields:
            variants += ["remap"] * 2
        if ints:
            variants += ["positions"]
        if bools:
            variants += ["flag"]
        if nullable_dts:
            variants += ["timestamp"]
        if jsons:
            variants += ["json"]
        variant = r.choice(variants) if variants else "touch"
        doc = r.random() < 0.3
        fwd_body: list[str]
        rev_body: list[str] | None
        prefix: list[str] = []
        if variant == "char_rows":
            f = r.choice(chars).name
            fwd = r.choice(["backfill", "populate", "generate"]) + f"_{snake_m}_{f}"
            fwd_body = [
                get,
                alias,
                f"    queryset = {manager}.filter({f}={q('')})",
                f"    for {v} in queryset.iterator():",
                f"        {v}.{f} = f{q(f'{snake_m[:3].upper()}-{{{v}.pk:06d}}')}",
                f"        {v}.save(update_fields=[{q(f)}])",
            ]
            rev_body = [get, f"    {m}.objects.update({f}={q('')})"]
        elif variant == "copy":
            src, dst = r.sample(chars, 2)
            fwd = f"copy_{snake_m}_{src.name}_to_{dst.name}"
            fwd_body = [
                get,
                alias,
                "    batch = []",
                f"    for {v} in {manager}.only({q('pk')}, {q(src.name)}).iterator(chunk_size=2000):",
                f"        {v}.{dst.name} = {v}.{src.name}",
                f"        batch.append({v})",
                "        if len(batch) >= 500:",
                f"            {m}.objects.bulk_update(batch, [{q(dst.name)}])",
                "            batch = []",
                "    if batch:",
                f"        {m}.objects.bulk_update(batch, [{q(dst.name)}])",
            ]
            rev_body = None
        elif variant == "remap":
            fs = r.choice(choice_fields)
            values = [c[0] for c in fs.kwargs["choices"]]
            legacy = [f"legacy_{x}" for x in r.sample(values, min(2, len(values)))]
            const = f"{fs.name.upper()}_MAP"
            pairs = ", ".join(
                f"{q(old)}: {q(new)}" for old, new in zip(legacy, values, strict=False)
            )
            prefix = [f"{const} = {{{pairs}}}"]
            fwd = f"migrate_{snake_m}_{fs.name}"
            fwd_body = [
                get,
                f"    for old, new in {const}.items():",
                f"        {m}.objects.filter({fs.name}=old).update({fs.name}=new)",
            ]
            rev_body = [
                get,
                f"    for old, new in {const}.items():",
                f"        {m}.objects.filter({fs.name}=new).update({fs.name}=old)",
            ]
        elif variant == "positions":
            f = r.choice(ints).name
            fwd = f"set_{snake_m}_{f}"
            fwd_body = [
                get,
                alias,
                f"    for index, {v} in enumerate({manager}.order_by({q('pk')})):",
                f"        {v}.{f} = index",
                f"        {v}.save(update_fields=[{q(f)}])",
            ]
            rev_body = [get, f"    {m}.objects.update({f}={r.choice([0, 0, 1])})"]
        elif variant == "flag":
            f = r.choice(bools)
            cond = (
                f"{nullable_dts[0].name}__isnull=False"
                if nullable_dts
                else f"{f.name}={not f.kwargs.get('default', False)}"
            )
            value = not f.kwargs.get("default", False)
            fwd = f"mark_{snake_m}_{f.name}"
            fwd_body = [get, alias, f"    {manager}.filter({cond}).update({f.name}={value})"]
            rev_body = [get, alias, f"    {manager}.update({f.name}={not value})"]
        elif variant == "timestamp":
            f = r.choice(nullable_dts).name
            mig.imports.add("from django.utils import timezone")
            fwd = f"fill_{snake_m}_{f}"
            fwd_body = [get, f"    {m}.objects.filter({f}__isnull=True).update({f}=timezone.now())"]
            rev_body = None
        elif variant == "json":
            f = r.choice(jsons).name
            fwd = f"normalize_{snake_m}_{f}"
            fwd_body = [
                get,
                alias,
                f"    for {v} in {manager}.iterator():",
                f"        data = dict({v}.{f} or {{}})",
                f"        data.setdefault({q('version')}, 1)",
                f"        {v}.{f} = data",
                f"        {v}.save(update_fields=[{q(f)}])",
            ]
            rev_body = None
        else:
            fwd = f"resave_{snake_m}_rows"
            fwd_body = [get, f"    for {v} in {m}.objects.all().iterator():", f"        {v}.save()"]
            rev_body = None
        if doc:
            fwd_body.insert(
                0,
                f'    """{r.choice(["Backfill existing rows.", "Data fix, safe to run twice.", "Bring existing rows in line with the new default.", "One-off data migration, see the release notes."])}"""',
            )
        functions = []
        if prefix:
            functions.append(prefix)
        functions.append([f"def {fwd}(apps, schema_editor):", *fwd_body])
        rev = None
        if rev_body is not None or r.random() < 0.4:
            rev = r.choice([f"reverse_{fwd}", f"undo_{fwd}", "noop_reverse"])
            if rev == "noop_reverse":
                rev = f"reverse_{fwd}"
            functions.append([f"def {rev}(apps, schema_editor):", *(rev_body or ["    pass"])])
        return fwd, rev, functions, fwd

    def run_python_node(self, fwd: str, rev: str | None) -> Call:
        r = self.rng
        if rev is None:
            return Call("migrations.RunPython", [Raw(fwd), Raw("migrations.RunPython.noop")])
        x = r.random()
        if x < 0.5:
            return Call("migrations.RunPython", [Raw(fwd), Raw(rev)])
        if x < 0.85:
            return Call("migrations.RunPython", [Raw(fwd)], [("reverse_code", Raw(rev))])
        return Call(
            "migrations.RunPython",
            kwargs=[("code", Raw(fwd)), ("reverse_code", Raw(rev)), ("elidable", Raw("True"))],
            magic=True,
        )

    def hand_data(self, mig: Mig) -> None:
        model = self.pick_model(mig)
        assert model is not None
        fwd, rev, functions, name = self.data_functions(mig, model)
        mig.functions.extend(functions)
        mig.add(self.run_python_node(fwd, rev), None)
        mig.name = name

    def hand_three_step(self, mig: Mig) -> None:
        """AddField(null=True) + RunPython backfill + AlterField(unique=True)."""
        r = self.rng
        q = mig.app.renderer.q
        model = self.pick_model(mig)
        assert model is not None
        name = self.fresh_name(
            model, ["reference", "code", "public_code", "external_ref", "number"]
        )
        length = r.choice([12, 16, 20, 32])
        nullable = FieldState(
            name, "models.CharField", {"blank": True, "max_length": length, "null": True}, "char"
        )
        final = FieldState(name, "models.CharField", {"max_length": length, "unique": True}, "char")
        if r.random() < 0.3:
            final.kwargs["editable"] = False
        m, v, snake_m = model.name, var_name(model), snake(model.name)
        fwd = f"populate_{snake_m}_{name}"
        mig.functions.append(
            [
                f"def {fwd}(apps, schema_editor):",
                self.model_get(q, mig, model),
                "    db_alias = schema_editor.connection.alias",
                f"    queryset = {m}.objects.using(db_alias).filter({name}__isnull=True)",
                f"    for {v} in queryset.iterator():",
                f"        {v}.{name} = f{q(f'{snake_m[:3].upper()}{{{v}.pk:0{length - 4}d}}')}",
                f"        {v}.save(update_fields=[{q(name)}])",
            ]
        )
        mig.add(self.field_op("AddField", model, nullable, None), None)
        mig.add(Call("migrations.RunPython", [Raw(fwd), Raw("migrations.RunPython.noop")]), None)
        mig.add(self.field_op("AlterField", model, final, None), None)
        model.add_field(final)
        mig.name = r.choice(
            [f"{snake_m}_{name}", f"add_{snake_m}_{name}", f"backfill_{snake_m}_{name}"]
        )

    def hand_sql(self, mig: Mig) -> None:
        r = self.rng
        model = self.pick_model(mig)
        assert model is not None
        t = model.table
        chars = [f for f in model.of_kind("char") if not f.kwargs.get("unique")]
        ints = model.of_kind("int")
        nullable_fks = [f for f in model.of_kind("fk") if f.kwargs.get("null")]
        children = [
            (child, f)
            for child in mig.app.models.values()
            for f in child.of_kind("fk")
            if f.target == f"{model.app}.{model.name}" and child is not model
        ]
        variants = [] if self.portable else ["index", "analyze"]
        if chars:
            variants += ["update"] * 3
        if ints:
            variants += ["reset"]
        if ints and children:
            variants += ["counts"] * 2
        if nullable_fks:
            variants += ["orphans"]
        variant = r.choice(variants) if variants else "touch"
        noop = Raw("migrations.RunSQL.noop")
        if variant == "update":
            f = r.choice(chars)
            value = r.choice(["unknown", "n/a", "legacy", "default"])
            if "choices" in f.kwargs:
                value = f.kwargs["choices"][0][0]
            sql: Node = Block(
                [f'UPDATE "{t}"', f"SET \"{f.column}\" = '{value}'", f"WHERE \"{f.column}\" = '';"]
            )
            node = Call(
                "migrations.RunSQL", kwargs=[("sql", sql), ("reverse_sql", noop)], magic=True
            )
            mig.name = f"backfill_{snake(model.name)}_{f.name}"
        elif variant == "reset":
            f = r.choice(ints)
            statements = [Str(f'UPDATE "{t}" SET "{f.column}" = 0 WHERE "{f.column}" IS NULL;')]
            if chars and r.random() < 0.5:
                c = r.choice(chars)
                statements.append(Str(f'UPDATE "{t}" SET "{c.column}" = TRIM("{c.column}");'))
            node = Call(
                "migrations.RunSQL",
                kwargs=[("sql", Seq("list", statements, magic=True)), ("reverse_sql", noop)],
                magic=True,
            )
            mig.name = f"clean_{snake(model.name)}_data"
        elif variant == "counts":
            f = r.choice(ints)
            child, fk = r.choice(children)
            sql = Block(
                [
                    f'UPDATE "{t}"',
                    f'SET "{f.column}" = (',
                    "    SELECT COUNT(*)",
                    f'    FROM "{child.table}"',
                    f'    WHERE "{child.table}"."{fk.column}" = "{t}"."id"',
                    ");",
                ]
            )
            node = Call(
                "migrations.RunSQL", kwargs=[("sql", sql), ("reverse_sql", noop)], magic=True
            )
            mig.name = f"recompute_{snake(model.name)}_{f.name}"
        elif variant == "orphans":
            f = r.choice(nullable_fks)
            sql = Block([f'DELETE FROM "{t}"', f'WHERE "{f.column}" IS NULL;'])
            node = Call(
                "migrations.RunSQL", kwargs=[("sql", sql), ("reverse_sql", noop)], magic=True
            )
            mig.name = f"delete_orphaned_{plural(snake(model.name))}"
        elif variant == "touch":
            node = Call(
                "migrations.RunSQL",
                [Str(f'UPDATE "{t}" SET "id" = "id" WHERE 1 = 0;')],
                [("reverse_sql", noop)],
            )
            mig.name = f"touch_{snake(model.name)}"
        elif variant == "analyze":
            node = Call("migrations.RunSQL", [Str(f'ANALYZE "{t}";')], [("reverse_sql", noop)])
            node.magic = r.random() < 0.5
            mig.name = f"analyze_{snake(model.name)}"
        else:
            cands = self.indexable(model)
            f = r.choice(cands) if cands else model.fields["id"]
            name = self.db_name(f"{t}_{f.column}_idx"[:40])
            model.pinned.add(f.name)
            node = Call(
                "migrations.RunSQL",
                kwargs=[
                    ("sql", Str(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{t}" ("{f.column}");')),
                    ("reverse_sql", Str(f'DROP INDEX IF EXISTS "{name}";')),
                ],
                magic=True,
            )
            mig.name = f"add_{snake(model.name)}_{f.name}_index"
            mig.atomic = r.random() < 0.6
        mig.add(node, None)

    def hand_separate(self, mig: Mig) -> None:
        r = self.rng
        model = self.pick_model(mig)
        assert model is not None
        removable = self.removable(mig, model) if len(model.fields) >= 4 else []
        fks = [f for f in model.of_kind("fk") if (model.name, f.name) not in mig.added]
        x = r.random()
        db_ops: list[Node] = []
        if x < 0.35 and removable:
            fs = r.choice(removable)
            del model.fields[fs.name]
            state = [
                Call(
                    "migrations.RemoveField",
                    kwargs=[("model_name", Str(model.lower)), ("name", Str(fs.name))],
                    magic=True,
                )
            ]
            mig.name = f"remove_{snake(model.name)}_{fs.name}_from_state"
        elif x < 0.55 and fks:
            fs = r.choice(fks)
            new = fs.copy()
            current = new.kwargs["on_delete"].text.rsplit(".", 1)[1]
            chosen = "DO_NOTHING" if current != "DO_NOTHING" else "CASCADE"
            new.kwargs["on_delete"] = Raw(f"django.db.models.deletion.{chosen}")
            model.fields[fs.name] = new
            state = [self.field_op("AlterField", model, new, None)]
            mig.name = f"alter_{snake(model.name)}_{fs.name}_on_delete"
        else:
            cands = self.indexable(model)
            if not cands:
                self.hand_data(mig)
                return
            fs = r.choice(cands)
            name = self.index_name(model, [fs.name])
            ix = IndexState(name, [fs.name])
            model.indexes.append(ix)
            sql = f'CREATE INDEX "{name}" ON "{model.table}" ("{fs.column}");'
            db_ops = [
                Call(
                    "migrations.RunSQL",
                    kwargs=[("sql", Str(sql)), ("reverse_sql", Str(f'DROP INDEX "{name}";'))],
                    magic=True,
                )
            ]
            state = [self.add_index_node(model, ix)]
            mig.name = f"add_{snake(model.name)}_{fs.name}_index"
            mig.atomic = r.random() < 0.5
        kwargs: list[tuple[str, Node]] = []
        if db_ops or r.random() < 0.4:
            kwargs.append(("database_operations", Seq("list", db_ops, magic=True)))
        kwargs.append(("state_operations", Seq("list", state, magic=True)))
        mig.add(Call("migrations.SeparateDatabaseAndState", kwargs=kwargs, magic=True), None)
        mig.touched.add(model.name)

    def hand_groups(self, mig: Mig) -> None:
        r = self.rng
        q = mig.app.renderer.q
        names = r.sample(GROUP_NAMES, r.randint(1, 4))
        mig.deps[("auth", AUTH_LEAF)] = None
        const = "GROUP_NAMES" if r.random() < 0.5 else f"{mig.app.label.upper()}_GROUPS"
        fwd, rev = f"create_{mig.app.label}_groups", f"remove_{mig.app.label}_groups"
        mig.functions += [
            [f"{const} = [{', '.join(q(n) for n in names)}]"],
            [
                f"def {fwd}(apps, schema_editor):",
                f"    Group = apps.get_model({q('auth')}, {q('Group')})",
                f"    for name in {const}:",
                "        Group.objects.get_or_create(name=name)",
            ],
            [
                f"def {rev}(apps, schema_editor):",
                f"    Group = apps.get_model({q('auth')}, {q('Group')})",
                f"    Group.objects.filter(name__in={const}).delete()",
            ],
        ]
        mig.add(self.run_python_node(fwd, rev), None)
        mig.name = f"create_{mig.app.label}_groups"

    # -- one migration -------------------------------------------------------

    def build(self, app: AppState, when: dt.datetime) -> Mig:
        r = self.rng
        branch = app.branch
        if branch is not None and branch["stage"] == 2:
            mig = Mig(app, branch["number"], when)
            mig.deps[(app.label, branch["parent"])] = None
            mig.simple = True
            mig.avoid = set(branch["touched"])
            self.auto_ops(mig, r.choice([1, 1, 2]))
            branch["stage"] = 3
            branch["leaves"].append(mig)
            return mig
        if branch is not None and branch["stage"] == 3:
            app.number += 1
            mig = Mig(app, app.number, when)
            leaves = branch["leaves"]
            for leaf in leaves:
                mig.deps[(app.label, leaf.full_name)] = None
            joined = "_".join(sorted(leaf.full_name for leaf in leaves))
            mig.name = (
                f"merge_{joined}" if len(joined) <= 47 else "merge_" + when.strftime("%Y%m%d_%H%M")
            )
            app.branch = None
            return mig

        app.number += 1
        mig = Mig(app, app.number, when)
        if app.latest is None:
            mig.initial = True
            for _ in range(
                self.pick(
                    [(1, 18), (2, 17), (3, 15), (4, 12), (5, 10), (6, 8), (8, 10), (11, 7), (14, 3)]
                )
            ):
                self.op_create_model(mig, initial=True)
            return mig
        mig.deps[(app.label, app.latest)] = None
        remaining = app.planned - app.done
        kind = self.pick(
            [
                ("auto", 78.5),
                ("feature", 2),
                ("data", 7),
                ("three_step", 2),
                ("sql", 4),
                ("separate", 2),
                ("groups", 1),
                ("branch", 1.5 if remaining >= 3 and app.number > 3 else 0),
            ]
        )
        if kind == "auto":
            self.auto_ops(mig, self.op_count())
        elif kind == "feature":
            # a feature landing: a few new models, then links from existing models to them
            existing = list(app.models.values())
            for _ in range(r.choice([2, 2, 3, 3, 4, 5, 6])):
                self.op_create_model(mig, initial=True)
            new_models = [m for m in app.models.values() if m.name in mig.created]
            for model in r.sample(existing, min(len(existing), r.choice([0, 1, 1, 2]))):
                target = r.choice(new_models)
                name = self.fresh_name(model, [snake(target.name)])
                fs = FieldState(name, "models.ForeignKey", {}, "fk", f"{app.label}.{target.name}")
                fs.kwargs = {
                    "blank": True,
                    "null": True,
                    "on_delete": Raw("django.db.models.deletion.SET_NULL"),
                    "to": self.ref(mig, fs.target or ""),
                }
                if r.random() < 0.5:
                    fs.kwargs["related_name"] = plural(snake(model.name))
                mig.add(self.field_op("AddField", model, fs, None), f"{model.lower}_{name}")
                model.add_field(fs)
                mig.touched.add(model.name)
        elif kind == "branch":
            mig.simple = True
            self.auto_ops(mig, r.choice([1, 1, 2]))
            app.branch = {
                "stage": 2,
                "number": mig.number,
                "parent": app.latest,
                "touched": set(mig.touched) | set(mig.created),
                "leaves": [mig],
            }
        else:
            mig.header = r.random() < 0.75
            getattr(self, f"hand_{kind}")(mig)
        return mig

    # -- output --------------------------------------------------------------

    def render(self, mig: Mig) -> str:
        app = mig.app
        rd = app.renderer
        ops_lines: list[str] = []
        for op in mig.ops:
            ops_lines += rd.render(op, 8, "", ",")
        body = "\n".join(ops_lines)
        imports = {"from django.db import migrations"} | mig.imports
        if re.search(r"(?<![\w.])models\.", body):
            imports.discard("from django.db import migrations")
            imports.add("from django.db import migrations, models")
        for module in (
            "django.core.validators",
            "django.db.models.deletion",
            "django.utils.timezone",
            "django.core.serializers.json",
        ):
            if module + "." in body:
                imports.add(f"import {module}")
        if "uuid.uuid4" in body:
            imports.add("import uuid")
        if "decimal.Decimal(" in body:
            imports.add("import decimal")
        if re.search(r"\bdatetime\.(date|timedelta)\b", body):
            imports.add("import datetime")
        if "settings.AUTH_USER_MODEL" in body:
            mig.swappable = True
        if mig.swappable:
            imports.add("from django.conf import settings")
        imports_sorted = sorted(imports, key=lambda i: (i.split()[0] == "from", i.split()[1]))

        deps: list[Node] = [lit(d) for d in mig.deps]
        if mig.swappable:
            deps.append(Raw("migrations.swappable_dependency(settings.AUTH_USER_MODEL)"))
        deps.sort(key=lambda n: rd.flat(n) or "")

        out: list[str] = []
        if mig.header:
            out += [
                f"# Generated by Django {django_version(mig.when)} on {mig.when:%Y-%m-%d %H:%M}",
                "",
            ]
        out += imports_sorted
        for function in mig.functions:
            out += ["", "", *function]
        out += ["", "", "class Migration(migrations.Migration):", ""]
        if mig.initial:
            out += ["    initial = True", ""]
        if not mig.atomic:
            out += ["    atomic = False", ""]
        if deps:
            out.append("    dependencies = [")
            for dep in deps:
                out += rd.render(dep, 8, "", ",")
            out.append("    ]")
        else:
            out += ["    dependencies = []"] if app.black else ["    dependencies = [", "    ]"]
        out.append("")
        if ops_lines:
            out += ["    operations = [", *ops_lines, "    ]"]
        else:
            out += ["    operations = []"] if app.black else ["    operations = [", "    ]"]
        return "\n".join(out) + "\n"

    def run(self, out_dir: Path) -> list[Path]:
        if out_dir.exists() and any(out_dir.iterdir()):
            raise FileExistsError(f"{out_dir} exists and is not empty")
        slots = self.schedule()
        n = len(slots)
        paths: list[Path] = []
        for i, app in enumerate(slots):
            t = 0.0 if i == 0 else i / n + self.rng.random() / (2 * n)
            mig = self.build(app, self.next_when(t))
            name = mig.name or mig.suggest_name()
            name = re.sub(r"\W+", "_", name)[:80].rstrip("_")
            mig.full_name = f"{mig.number:04d}_{name}"
            if (
                app.branch is not None
                and app.branch["stage"] == 3
                and mig in app.branch["leaves"][1:]
            ):
                first = app.branch["leaves"][0]
                if first.full_name == mig.full_name:
                    mig.full_name += "_2"
            app.done += 1
            app.latest = mig.full_name
            path = out_dir / app.label / "migrations" / f"{mig.full_name}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.render(mig), encoding="utf-8")
            paths.append(path)
        self.write_project(out_dir)
        return paths

    def write_project(self, out_dir: Path) -> None:
        (out_dir / "manage.py").write_text(MANAGE_PY, encoding="utf-8")
        pkg = out_dir / "benchproject"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text("", encoding="utf-8")
        installed = "".join(f'    "{app_label}",\n' for app_label in self.apps)
        (pkg / "settings.py").write_text(SETTINGS_PY.replace("@APPS@", installed), encoding="utf-8")
        for app_label in self.apps:
            app_dir = out_dir / app_label
            (app_dir / "__init__.py").write_text("", encoding="utf-8")
            (app_dir / "models.py").write_text(
                "from django.db import models  # noqa: F401\n", encoding="utf-8"
            )
            (app_dir / "migrations" / "__init__.py").write_text("", encoding="utf-8")


MANAGE_PY = '''#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
'''

SETTINGS_PY = '''"""Settings for the generated benchmark project (migrations only, no real models)."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "benchmark-corpus-not-a-secret"
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
@APPS@]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
'''


def generate(
    out_dir: Path, migrations: int, apps: int = 30, seed: int = 1, portable: bool = False
) -> list[Path]:
    """Write the project to ``out_dir`` (must be empty or absent); return the migration paths.

    Paths are returned in generation order, which is a valid order to apply them in.
    ``portable``: hand-written SQL runs on MySQL/MariaDB (with ANSI_QUOTES) too.
    """
    return Generator(migrations, apps, seed, portable).run(Path(out_dir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--migrations", type=int, default=3000)
    parser.add_argument("--apps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate(args.out_dir, args.migrations, args.apps, args.seed)
    total = sum(p.stat().st_size for p in paths)
    print(
        f"wrote {len(paths)} migrations ({total / 1e6:.2f} MB, {total / len(paths):.0f} B average) "
        f"to {args.out_dir} in {time.perf_counter() - started:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
