"""Drawings of architectures, as SVG and PNG, from the graph each space describes
(`Space.graph`): a search's best_arch.svg/.png, a training's arch.svg/.png and the HTML
report's picture.

Nodes stand in one column, top to bottom in the order data flows. An edge between
neighbours is a straight arrow; any other edge (a skip connection) is an arc to the side of
the column. Arcs are spread over lanes so that none shares its radius with an arc it
overlaps: an arc inside another's span is drawn inside it, and lanes alternate between the
right and the left side. Where several arcs meet a box they end at different heights (the
box grows to hold them), each arc in the colour of its source. The figure is sized from the
nodes and lanes, in inches, so text keeps its size whatever the architecture. Only
matplotlib is used (no graphviz).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as CurvePath
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Affine2D, Transform

from archsearch.reporting.plots import DPI
from archsearch.rundir import save_atomic
from archsearch.spaces.base import ArchGraph, Architecture, GraphEdge, GraphNode, Space

__all__ = [
    "Box",
    "Layout",
    "Link",
    "architecture_svg",
    "drawing_figure",
    "layout",
    "write_drawing",
]

FONT, SMALL, TITLE = 9.0, 8.0, 10.0  # points: node labels; edge labels and notes; titles
LINE = 1.3 / 72  # inches per point of font size, for a line of text
PAD_X, PAD_Y = 0.12, 0.07  # inches between a box's text and its border
GAP, LABEL_GAP = 0.3, 0.22  # inches between boxes; more when straight edges have labels
LANE = 0.17  # inches between the outermost points of two neighbouring arcs
ATTACH = 0.075  # inches between two arc ends on one side of a box
MARGIN, PANEL_GAP = 0.2, 0.5  # inches around the drawing and between its panels
CENTRED = {"ha": "center", "va": "center", "fontsize": FONT}
TITLE_STYLE = {"ha": "center", "va": "top", "fontsize": TITLE, "weight": "bold"}
NOTE_STYLE = {"ha": "left", "va": "bottom", "fontsize": SMALL, "color": "#444444"}
FILL = {"input": "#d9ead3", "output": "#fce5cd", "layer": "#dbe8f6", "fixed": "#eeeeee"}
#: Arc colours by source node: 16 distinct ones, so that NASCNN15's input and 15 layers each
#: have their own.
ARC_COLOURS = (
    *("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"),
    *("#7f7f7f", "#bcbd22", "#1a237e", "#8b0000", "#00796b", "#b8860b", "#c2185b", "#7cb342"),
)


@dataclass(frozen=True)
class Box:
    """Where a node is drawn: centre and size in inches (y grows upwards)."""

    node: GraphNode
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Link:
    """Where an edge is drawn: two points for a straight arrow, four (a cubic Bézier) for an
    arc; `side` is 0 for a straight arrow, +1 for an arc on the right, -1 on the left;
    `lane` counts arcs outwards from the column on their side (-1 for a straight one)."""

    edge: GraphEdge
    points: tuple[tuple[float, float], ...]
    side: int
    lane: int
    colour: str

    @property
    def is_arc(self) -> bool:
        return len(self.points) == 4

    @property
    def label_at(self) -> tuple[float, float]:
        """The middle of a straight arrow, or the outermost point of an arc."""
        (x0, y0), *_, (x1, y1) = self.points
        if not self.is_arc:
            return (x0 + x1) / 2, (y0 + y1) / 2
        return 0.25 * x0 + 0.75 * self.points[1][0], (y0 + y1) / 2


@dataclass(frozen=True)
class Layout:
    """A graph placed in inches, its column centred on x = 0: boxes, links, the note broken
    into lines, and the bounding box (left, right, bottom, top) of everything, title and
    labels included."""

    graph: ArchGraph
    boxes: dict[str, Box]
    links: tuple[Link, ...]
    note: str
    bounds: tuple[float, float, float, float]

    @property
    def arcs(self) -> list[Link]:
        return [link for link in self.links if link.is_arc]

    @property
    def width(self) -> float:
        return self.bounds[1] - self.bounds[0]

    @property
    def height(self) -> float:
        return self.bounds[3] - self.bounds[2]


def text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width in inches of `text` (its longest line) in the default font at `size` points."""
    font = FontProperties(size=size, weight=weight)
    lines = [line for line in text.split("\n") if line.strip()]
    widths = [text_to_path.get_text_width_height_descent(s, font, False)[0] for s in lines]
    return max(widths, default=0.0) / 72


def text_height(text: str, size: float) -> float:
    """Height in inches of `text`'s lines at `size` points."""
    return (text.count("\n") + 1) * size * LINE


def wrap(text: str, width: float, size: float) -> str:
    """`text` broken into lines no wider than `width` inches (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width(f"{lines[-1]} {word}", size) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


# -- layout ----------------------------------------------------------------------------------
def layout(graph: ArchGraph) -> Layout:
    """Place `graph`: a column of equally wide boxes in node order, straight arrows between
    neighbours, arcs in lanes for every other edge, title above and note below."""
    order = {node.id: i for i, node in enumerate(graph.nodes)}
    lanes = _lanes(graph.edges, order)
    offsets, needs = _arc_ends(graph.edges, order, lanes)
    labelled = [graph.edges[i].label for i in lanes if graph.edges[i].label]
    step = max((text_width(label, SMALL) + 0.25 for label in labelled), default=LANE)
    has_labels = any(e.label for i, e in enumerate(graph.edges) if i not in lanes)
    boxes = _column(graph.nodes, needs, GAP + LABEL_GAP * has_labels)
    links = tuple(_link(i, edge, boxes, lanes, offsets, step) for i, edge in enumerate(graph.edges))
    left, right, bottom = _extent(boxes, links)
    note = wrap(graph.note, max(right - left, 3.5), SMALL) if graph.note else ""
    bottom -= text_height(note, SMALL) + 0.15 if note else 0.0
    half_title = text_width(graph.title, TITLE, "bold") / 2
    left, right = min(left, -half_title), max(right, half_title)
    return Layout(graph, boxes, links, note, (left, right, bottom, text_height("", TITLE) + 0.1))


def _lanes(edges: Sequence[GraphEdge], order: dict[str, int]) -> dict[int, int]:
    """The lane of each edge that is not between neighbours (by index in `edges`). Shorter
    arcs are placed first, each in the lowest lane no overlapping arc holds: an arc spanning
    another is therefore outside it, and arcs whose spans only touch may share a lane."""
    spans = {
        i: sorted((order[e.src], order[e.dst]))
        for i, e in enumerate(edges)
        if abs(order[e.src] - order[e.dst]) != 1
    }
    lanes: dict[int, int] = {}
    for i in sorted(spans, key=lambda i: (spans[i][1] - spans[i][0], spans[i][0])):
        low, high = spans[i]
        taken = {lanes[j] for j in lanes if max(low, spans[j][0]) < min(high, spans[j][1])}
        lanes[i] = min(set(range(len(taken) + 1)) - taken)
    return lanes


def _side(lane: int) -> int:
    """Lanes alternate between the right (+1) and the left (-1) of the column."""
    return 1 if lane % 2 == 0 else -1


def _arc_ends(
    edges: Sequence[GraphEdge], order: dict[str, int], lanes: dict[int, int]
) -> tuple[dict[tuple[int, str], float], dict[str, float]]:
    """Where each arc meets its boxes, as an offset from the box's centre keyed by (edge,
    node), and the half-height each box needs for its arc ends. On one side of a box, arcs
    to nodes above end in its upper half, arcs to nodes below in its lower half, the
    outermost nearest the middle, so that arcs meeting a box do not cross there."""
    groups: dict[tuple[str, int, bool], list[int]] = {}
    for i, lane in lanes.items():
        edge = edges[i]
        for node, other in ((edge.src, edge.dst), (edge.dst, edge.src)):
            key = (node, _side(lane), order[other] < order[node])
            groups.setdefault(key, []).append(i)
    offsets: dict[tuple[int, str], float] = {}
    needs: dict[str, float] = {}
    for (node, _, above), members in groups.items():
        for rank, i in enumerate(sorted(members, key=lambda i: -lanes[i])):
            offsets[(i, node)] = (rank + 0.5) * ATTACH * (1 if above else -1)
        needs[node] = max(needs.get(node, 0.0), len(members) * ATTACH)
    return offsets, needs


def _column(nodes: Sequence[GraphNode], needs: dict[str, float], gap: float) -> dict[str, Box]:
    """Boxes of one width centred on x = 0, the first with its top at y = 0, each tall
    enough for its text and its arc ends."""
    width = max(text_width(node.label, FONT) for node in nodes) + 2 * PAD_X
    boxes: dict[str, Box] = {}
    top = 0.0
    for node in nodes:
        height = max(text_height(node.label, FONT) + 2 * PAD_Y, 2 * needs.get(node.id, 0) + 0.05)
        boxes[node.id] = Box(node, 0.0, top - height / 2, width, height)
        top -= height + gap
    return boxes


def _link(
    index: int,
    edge: GraphEdge,
    boxes: dict[str, Box],
    lanes: dict[int, int],
    offsets: dict[tuple[int, str], float],
    step: float,
) -> Link:
    """A straight arrow from the bottom of the source to the top of the next box, or an arc
    leaving the side of the source and entering the side of the target horizontally, its
    outermost point `step` inches per lane beyond the column; arcs take their source's
    colour."""
    a, b = boxes[edge.src], boxes[edge.dst]
    if index not in lanes:
        down = 1 if a.y > b.y else -1
        points = ((a.x, a.y - down * a.height / 2), (b.x, b.y + down * b.height / 2))
        return Link(edge, points, 0, -1, "#444444")
    lane = lanes[index]
    side = _side(lane)
    x = side * a.width / 2
    reach = x + side * (lane // 2 + 1) * step / 0.75
    y0, y1 = a.y + offsets[(index, edge.src)], b.y + offsets[(index, edge.dst)]
    colour = ARC_COLOURS[list(boxes).index(edge.src) % len(ARC_COLOURS)]
    return Link(edge, ((x, y0), (reach, y0), (reach, y1), (x, y1)), side, lane // 2, colour)


def _extent(boxes: dict[str, Box], links: Sequence[Link]) -> tuple[float, float, float]:
    """Left, right and bottom of the boxes, arcs and edge labels."""
    left = min(box.x - box.width / 2 for box in boxes.values())
    right = max(box.x + box.width / 2 for box in boxes.values())
    bottom = min(box.y - box.height / 2 for box in boxes.values())
    for link in links:
        x, _ = link.label_at
        size = text_width(link.edge.label, SMALL) if link.edge.label else 0.0
        reach = (x + 0.05 + size) if link.side > 0 else (x - 0.05 - size)
        if link.side == 0:
            left, right = min(left, x - size / 2), max(right, x + size / 2)
        else:
            left, right = min(left, reach, x), max(right, reach, x)
    return left, right, bottom


# -- drawing ---------------------------------------------------------------------------------
def drawing_figure(space: Space, arch: Architecture, name: str | None = None) -> Figure:
    """The figure of `arch`: its graph, and the graph's `context` beside it (and that one's
    context beside that), each panel with its title (`name`, if given, before the
    architecture's) and note; sized in inches from the layout, so that text keeps its size."""
    graph = space.graph(arch)
    if name:
        graph = replace(graph, title=f"{name} — {graph.title}")
    graphs = [graph]
    while graphs[-1].context is not None:  # a context may have its own (darts: two cells)
        graphs.append(graphs[-1].context)
    panels = [layout(g) for g in graphs]
    width = sum(p.width for p in panels) + PANEL_GAP * (len(panels) - 1) + 2 * MARGIN
    height = max(p.height for p in panels) + 2 * MARGIN
    figure = Figure(figsize=(width, height))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(0, height)
    axes.set_axis_off()
    x = MARGIN
    for panel in panels:
        left, _, _, top = panel.bounds
        shift = Affine2D().translate(x - left, height - MARGIN - top) + axes.transData
        _draw_panel(axes, panel, shift)
        x += panel.width + PANEL_GAP
    return figure


def _draw_panel(axes: Axes, panel: Layout, transform: Transform) -> None:
    """Draw one layout with `transform` from its inches to the figure's: links under boxes,
    each box with its label, the title above and the note below."""
    for link in panel.links:
        _draw_link(axes, link, transform)
    for box in panel.boxes.values():
        corner = (box.x - box.width / 2, box.y - box.height / 2)
        patch = FancyBboxPatch(
            corner,
            box.width,
            box.height,
            boxstyle="round,pad=0,rounding_size=0.05",
            facecolor=FILL.get(box.node.kind, FILL["layer"]),
            edgecolor="#555555",
            linewidth=0.9,
            transform=transform,
            zorder=3,
        )
        axes.add_patch(patch)
        axes.text(box.x, box.y, box.node.label, transform=transform, zorder=4, **CENTRED)
    left, _, bottom, top = panel.bounds
    axes.text(0, top, panel.graph.title, transform=transform, **TITLE_STYLE)
    axes.text(left, bottom, panel.note, transform=transform, **NOTE_STYLE)


def _draw_link(axes: Axes, link: Link, transform: Transform) -> None:
    """One edge: its line with an arrowhead and its label (on a straight arrow, over its
    middle; on an arc, just outside its outermost point). An inactive edge is grey and
    dashed."""
    segment = CurvePath.CURVE4 if link.is_arc else CurvePath.LINETO
    codes = [CurvePath.MOVETO] + [segment] * (len(link.points) - 1)
    arrow = FancyArrowPatch(
        path=CurvePath(link.points, codes),
        arrowstyle="-|>,head_length=0.6,head_width=0.3",
        mutation_scale=9,
        color="#bbbbbb" if link.edge.inactive else link.colour,
        linewidth=1.0 if link.is_arc else 1.3,
        linestyle="--" if link.edge.inactive else "-",
        transform=transform,
        zorder=2,
    )
    axes.add_patch(arrow)
    if link.edge.label:
        x, y = link.label_at
        axes.text(
            x + 0.05 * link.side,
            y,
            link.edge.label,
            ha={0: "center", 1: "left", -1: "right"}[link.side],
            va="center",
            fontsize=SMALL,
            color="#777777" if link.edge.inactive else "black",
            transform=transform,
            zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
        )


def architecture_svg(space: Space, arch: Architecture) -> str:
    """The drawing of `arch` as SVG text, ready to put inside an HTML page (no XML prolog;
    text stays text, so it can be searched and copied)."""
    return _svg(drawing_figure(space, arch))


def _svg(figure: Figure) -> str:
    """`figure` as SVG from `<svg` on: text kept as text, and ids fixed, so that the same
    architecture always gives the same bytes."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "archsearch"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def write_drawing(
    space: Space, arch: Architecture, path_without_suffix: Path | str, name: str | None = None
) -> tuple[Path, Path]:
    """Write the drawing of `arch` as `<path>.svg` and `<path>.png` (each written beside its
    final name and renamed, as every run file is); `name` (a reference network's) goes
    before the title."""
    base = Path(path_without_suffix)
    figure = drawing_figure(space, arch, name)
    svg, png = base.with_name(base.name + ".svg"), base.with_name(base.name + ".png")
    text = _svg(figure)  # UTF-8 whatever the locale: XML without a prolog is read as UTF-8
    save_atomic(svg, lambda partial: partial.write_text(text, encoding="utf-8"))
    save_atomic(png, lambda partial: figure.savefig(partial, format="png", dpi=DPI))
    return svg, png
