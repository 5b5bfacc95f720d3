"""The organisation model drawn as SVG (seed 004: "a diagram of the sales environment ...
functions, personnel (one circle per person) and work queues"). Pure: no Django.

The functions are labelled boxes (field sales; sales support with its promotions coordinators,
sales coordinators, customer service and manager; project leadership; management), each role a
box of circles, one per person, and the work queues arrows between the roles that pass work on.
The layout follows the work: promotions fill the opportunities queue the coordinators empty into
the salespeople's calendars; won projects go down to the project leaders, orders and issues
across to customer service.

The SVG carries only presentation attributes (the pages' Content-Security-Policy refuses inline
styles) and every text escaped; <title> and <desc> give screen readers the whole model in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from salesline.core.charts import PALETTE

from .resourcing import ROLE_LABELS, ROLE_SINGULAR, ROLES

#: Beyond this many people in a role, the circles stop and a "+N" says how many more.
MAX_CIRCLES = 40
CIRCLES_PER_LINE = 10
MAX_ACTIVITY_LINES = 3
ACTIVITY_CHARS = 38

RADIUS = 8
PITCH = 22  # circle to circle
CELL_WIDTH = 250
CELL_PAD = 12
CELL_HEADER = 30
ACTIVITY_LINE = 14
COLUMN_GAP = 170
ROW_GAP = 46
GROUP_PAD = 10
GROUP_LABEL = 26
MARGIN = 16
FONT = "DejaVu Sans, Verdana, sans-serif"
INK = "#1f2328"
QUEUE_INK = "#444c56"


@dataclass(frozen=True)
class Function:
    key: str
    label: str
    colour: str
    roles: tuple[str, ...]


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "sales_support",
        "Sales support",
        PALETTE[0],
        (
            "sales_support_manager",
            "promotions_coordinator",
            "sales_coordinator",
            "customer_service",
        ),
    ),
    Function("management", "Management", PALETTE[7], ("sales_manager",)),
    Function("field_sales", "Field sales", PALETTE[5], ("salesperson",)),
    Function("project_leadership", "Project leadership", PALETTE[2], ("project_leader",)),
)
FUNCTION_OF = {role: function for function in FUNCTIONS for role in function.roles}

#: (column, row) of each role's box: the work flows left to right, then down.
PLACES: dict[str, tuple[int, int]] = {
    "sales_support_manager": (0, 0),
    "promotions_coordinator": (0, 1),
    "sales_coordinator": (1, 1),
    "customer_service": (1, 2),
    "sales_manager": (2, 0),
    "salesperson": (2, 1),
    "project_leader": (2, 2),
}


@dataclass(frozen=True)
class Queue:
    source: str
    target: str
    label: str


#: The work queues between roles (drawn when both ends have people).
QUEUES: tuple[Queue, ...] = (
    Queue("promotions_coordinator", "sales_coordinator", "opportunities queue"),
    Queue("sales_coordinator", "salesperson", "salespeople's calendars"),
    Queue("salesperson", "project_leader", "won projects"),
    Queue("salesperson", "customer_service", "orders and issues"),
)


@dataclass(frozen=True)
class _Cell:
    role: str
    count: int
    activities: tuple[str, ...]
    x: float
    y: float
    height: float

    @property
    def right(self) -> float:
        return self.x + CELL_WIDTH

    @property
    def bottom(self) -> float:
        return self.y + self.height


def _shorten(text: str, limit: int = ACTIVITY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _activity_lines(names: Sequence[str]) -> list[str]:
    if len(names) <= MAX_ACTIVITY_LINES:
        return [_shorten(name) for name in names]
    shown = [_shorten(name) for name in names[: MAX_ACTIVITY_LINES - 1]]
    return [*shown, f"+{len(names) - len(shown)} more activities"]


def _cell_height(count: int, activity_lines: int) -> float:
    circles = min(count, MAX_CIRCLES)
    lines = -(-circles // CIRCLES_PER_LINE)
    more = 1 if count > MAX_CIRCLES else 0
    return (
        CELL_HEADER
        + lines * PITCH
        + more * ACTIVITY_LINE
        + activity_lines * ACTIVITY_LINE
        + CELL_PAD
    )


def _text(x: float, y: float, content: str, *, size: int = 12, weight: str = "normal", **attrs):
    extra = "".join(
        f" {name.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for name, v in attrs.items()
    )
    return (
        f'<text x="{x:g}" y="{y:g}" font-family={quoteattr(FONT)} font-size="{size}" '
        f'font-weight="{weight}" fill="{INK}"{extra}>{escape(content)}</text>'
    )


def _people(count: int, role: str) -> str:
    singular = ROLE_SINGULAR[role].lower()
    if count == 1:
        return f"1 {singular}"
    plural = ROLE_LABELS[role].lower() if role != "sales_manager" else "sales managers"
    if role == "customer_service":
        plural = "customer-service representatives"
    return f"{count} {plural}"


def _description(cells: Mapping[str, _Cell], queues: Sequence[Queue]) -> str:
    parts = []
    for function in FUNCTIONS:
        present = [cells[r] for r in function.roles if r in cells]
        if present:
            people = ", ".join(_people(cell.count, cell.role) for cell in present)
            parts.append(f"{function.label}: {people}.")
    if queues:
        flows = "; ".join(
            f"{ROLE_LABELS[q.source].lower()} to {ROLE_LABELS[q.target].lower()} through "
            f"the {q.label}"
            for q in queues
        )
        parts.append(f"Work queues: {flows}.")
    for cell in cells.values():
        if cell.activities:
            parts.append(f"{ROLE_LABELS[cell.role]} do: {', '.join(cell.activities)}.")
    return " ".join(parts) if parts else "Nobody planned yet."


def org_model_svg(
    roles: Mapping[str, int],
    *,
    title: str,
    activities: Sequence[tuple[str, str]] = (),
) -> str:
    """roles: role key (resourcing.ROLES) -> headcount; activities: (name, role key) from the
    activity map. Returns a standalone SVG document (with <title> and <desc>).

    Roles with nobody, and unknown role keys, are left out, and so are the queues that would
    lead to them; activities of roles not drawn appear in the description only if their role
    is drawn (an unowned activity is the activity map's business, not the diagram's)."""
    counts = {role: max(0, int(roles.get(role, 0) or 0)) for role in ROLES}
    present = [role for role in ROLES if counts[role] > 0]
    by_role: dict[str, list[str]] = {}
    for name, role in activities:
        if role in counts:
            by_role.setdefault(role, []).append(str(name))

    # Row heights: the tallest box of each row.
    heights: dict[str, float] = {
        role: _cell_height(counts[role], len(_activity_lines(by_role.get(role, []))))
        for role in present
    }
    rows = sorted({PLACES[role][1] for role in present})
    row_height = {
        row: max(heights[role] for role in present if PLACES[role][1] == row) for row in rows
    }
    row_top: dict[int, float] = {}
    y: float = MARGIN + 30  # below the diagram's heading
    for row in rows:
        row_top[row] = y
        y += GROUP_LABEL + row_height[row] + GROUP_PAD * 2 + ROW_GAP
    height = y - ROW_GAP + MARGIN
    width = MARGIN * 2 + 3 * (CELL_WIDTH + GROUP_PAD * 2) + 2 * COLUMN_GAP

    def column_x(column: int) -> float:
        return MARGIN + GROUP_PAD + column * (CELL_WIDTH + GROUP_PAD * 2 + COLUMN_GAP)

    cells: dict[str, _Cell] = {}
    for role in present:
        column, row = PLACES[role]
        cells[role] = _Cell(
            role=role,
            count=counts[role],
            activities=tuple(by_role.get(role, [])),
            x=column_x(column),
            y=row_top[row] + GROUP_LABEL + GROUP_PAD,
            height=row_height[row],
        )
    queues = [q for q in QUEUES if q.source in cells and q.target in cells]

    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" role="img" '
        'aria-labelledby="org-model-title org-model-desc" class="org-model">',
        f'<title id="org-model-title">{escape(title)}</title>',
        f'<desc id="org-model-desc">{escape(_description(cells, queues))}</desc>',
        "<defs>"
        '<marker id="org-model-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{QUEUE_INK}"/></marker>'
        "</defs>",
        f'<rect x="0" y="0" width="{width:g}" height="{height:g}" fill="#ffffff"/>',
        _text(MARGIN, MARGIN + 14, title, size=16, weight="bold"),
    ]
    if not cells:
        parts.append(_text(MARGIN, MARGIN + 44, "Nobody planned yet.", size=13))

    # Functions: one box around the boxes of their roles present.
    for function in FUNCTIONS:
        members = [cells[r] for r in function.roles if r in cells]
        if not members:
            continue
        left = min(c.x for c in members) - GROUP_PAD
        right = max(c.right for c in members) + GROUP_PAD
        top = min(c.y for c in members) - GROUP_PAD - GROUP_LABEL
        bottom = max(c.bottom for c in members) + GROUP_PAD
        parts.append(
            f'<g class="function" data-function="{function.key}">'
            f'<rect x="{left:g}" y="{top:g}" width="{right - left:g}" height="{bottom - top:g}" '
            f'rx="10" fill="{function.colour}" fill-opacity="0.06" stroke="{function.colour}" '
            'stroke-width="1.5"/>'
            + _text(left + 10, top + 18, function.label, size=13, weight="bold")
            + "</g>"
        )

    for cell in cells.values():
        colour = FUNCTION_OF[cell.role].colour
        group = [
            f'<g class="role" data-role="{cell.role}" data-people="{cell.count}">',
            f'<rect x="{cell.x:g}" y="{cell.y:g}" width="{CELL_WIDTH}" height="{cell.height:g}" '
            f'rx="6" fill="#ffffff" stroke="{colour}" stroke-width="1"/>',
            _text(
                cell.x + CELL_PAD,
                cell.y + 20,
                f"{ROLE_LABELS[cell.role]} ({cell.count})",
                size=12,
                weight="bold",
            ),
        ]
        singular = ROLE_SINGULAR[cell.role]
        drawn = min(cell.count, MAX_CIRCLES)
        for index in range(drawn):
            cx = cell.x + CELL_PAD + RADIUS + (index % CIRCLES_PER_LINE) * PITCH
            cy = cell.y + CELL_HEADER + RADIUS + (index // CIRCLES_PER_LINE) * PITCH
            group.append(
                f'<circle class="person" cx="{cx:g}" cy="{cy:g}" r="{RADIUS}" fill="{colour}">'
                f"<title>{escape(singular)} {index + 1}</title></circle>"
            )
        line_y = cell.y + CELL_HEADER + -(-drawn // CIRCLES_PER_LINE) * PITCH + 8
        if cell.count > MAX_CIRCLES:
            group.append(
                _text(
                    cell.x + CELL_PAD,
                    line_y,
                    f"+{cell.count - MAX_CIRCLES} more",
                    size=11,
                    weight="bold",
                    class_="more",
                )
            )
            line_y += ACTIVITY_LINE
        for line in _activity_lines(list(cell.activities)):
            group.append(_text(cell.x + CELL_PAD, line_y, f"· {line}", size=10))
            line_y += ACTIVITY_LINE
        group.append("</g>")
        parts.append("".join(group))

    for queue in queues:
        parts.append(_queue_arrow(cells[queue.source], cells[queue.target], queue))

    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _queue_arrow(source: _Cell, target: _Cell, queue: Queue) -> str:
    """A labelled arrow from one role's box to another's: sideways between columns, downwards
    within one, diagonally otherwise (down-left, the field handing work back to support)."""
    if abs(source.x - target.x) < 1:  # the same column: down
        x1 = x2 = source.x + CELL_WIDTH / 2
        y1, y2 = source.bottom, target.y
        label_x, label_y, anchor = x1 + 8, (y1 + y2) / 2 + 4, "start"
    elif abs(source.y - target.y) < 1:  # the same row: across
        y1 = y2 = source.y + source.height / 2
        x1, x2 = (source.right, target.x) if source.x < target.x else (source.x, target.right)
        label_x, label_y, anchor = (x1 + x2) / 2, y1 - 8, "middle"
    else:
        x1 = source.x if target.x < source.x else source.right
        y1 = source.y + source.height * 0.8
        x2 = target.right if target.x < source.x else target.x
        y2 = target.y + min(target.height / 2, 40)
        label_x, label_y, anchor = (x1 + x2) / 2 - 8, (y1 + y2) / 2, "end"
    return (
        f'<g class="queue" data-from="{queue.source}" data-to="{queue.target}">'
        f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="{QUEUE_INK}" '
        'stroke-width="1.5" stroke-dasharray="5 3" marker-end="url(#org-model-arrow)"/>'
        # A white halo keeps the label legible where it meets the line.
        + _text(
            label_x,
            label_y,
            queue.label,
            size=11,
            text_anchor=anchor,
            font_style="italic",
            paint_order="stroke",
            stroke="#ffffff",
            stroke_width="3",
        )
        + "</g>"
    )
