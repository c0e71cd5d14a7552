"""Architecture drawings show what the decisions say: NASCNN15's 15 layers and every one of its
skip connections as non-overlapping arcs, each space's nodes and edges, well-formed SVG with
the labels as text, and the files a search and a training write."""

import random
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from archsearch.cli import main
from archsearch.models import REFERENCE_MODELS
from archsearch.models.nascnn15 import LAYERS
from archsearch.reporting.drawing import architecture_svg, drawing_figure, layout, write_drawing
from archsearch.spaces import SPACES, Space, get_space

NASCNN15 = REFERENCE_MODELS["nascnn15"]
#: Options that switch on every kind of decision a space has.
OPTIONS = {"cnn": {"layers": 5, "min_layers": 2, "strides": (1, 2), "pooling": True}}
NB201_CELL = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"


def nascnn15_skips() -> tuple[int, int]:
    """(skip connections, connections between neighbours) of NASCNN15, from the published
    table alone: input j of layer i is a skip unless j = i - 1 (input 0 is the image), and
    the classifier takes every layer no other layer takes, a skip unless it is the last."""
    skips = sum(j != i - 1 for i, (*_, inputs) in enumerate(LAYERS, 1) for j in inputs)
    neighbours = sum(j == i - 1 for i, (*_, inputs) in enumerate(LAYERS, 1) for j in inputs)
    taken = {j for *_, inputs in LAYERS for j in inputs}
    to_classifier = [i for i in range(1, len(LAYERS) + 1) if i not in taken]
    skips += sum(i != len(LAYERS) for i in to_classifier)
    neighbours += len(LAYERS) in to_classifier
    return skips, neighbours


def test_nascnn15_has_15_layers_and_every_skip_as_an_arc():
    drawn = layout(NASCNN15.space.graph(NASCNN15.arch))
    layers = [box for box in drawn.boxes.values() if box.node.kind == "layer"]
    assert len(layers) == 15
    assert {box.node.kind for box in drawn.boxes.values()} == {"input", "layer", "output"}
    skips, neighbours = nascnn15_skips()
    assert skips == 51
    assert len(drawn.arcs) == skips
    assert len(drawn.links) - len(drawn.arcs) == neighbours


def test_arcs_that_overlap_have_different_radii_and_nest():
    """Two arcs on one side whose spans overlap never share their outermost line, and an arc
    spanning another is drawn outside it."""
    drawn = layout(NASCNN15.space.graph(NASCNN15.arch))
    arcs = [(a, sorted(p[1] for p in (a.points[0], a.points[-1]))) for a in drawn.arcs]
    for one, (low, high) in arcs:
        for other, (low2, high2) in arcs:
            if one is other or one.side != other.side or max(low, low2) >= min(high, high2):
                continue
            assert abs(one.label_at[0] - other.label_at[0]) > 0.1
            if low <= low2 and high2 <= high:  # `one` spans `other`
                assert abs(one.label_at[0]) > abs(other.label_at[0])


def test_arc_ends_on_one_box_side_are_apart():
    drawn = layout(NASCNN15.space.graph(NASCNN15.arch))
    ends = [(arc.side, arc.points[i]) for arc in drawn.arcs for i in (0, -1)]
    assert len(set(ends)) == len(ends)


def test_figure_is_sized_from_the_nodes():
    mlp = get_space("mlp")
    small = drawing_figure(mlp, mlp.make(mlp_values(1))).get_size_inches()
    large = drawing_figure(NASCNN15.space, NASCNN15.arch).get_size_inches()
    assert large[1] > 3 * small[1] and large[0] > small[0]


def mlp_values(depth: int) -> dict:
    values = {"depth": depth}
    for i in range(1, depth + 1):
        values |= {
            f"width_{i}": 32 * 2 ** (i - 1),
            f"activation_{i}": "relu",
            f"dropout_{i}": 0.1 * (i % 2),
        }
    return values


def test_mlp_graph_is_a_chain_of_its_layers():
    space = get_space("mlp", dropouts=(0.0, 0.1))
    graph = space.graph(space.make(mlp_values(3)))
    assert [n.id for n in graph.nodes] == ["input", "L1", "L2", "L3", "output"]
    assert [(e.src, e.dst) for e in graph.edges] == [
        ("input", "L1"),
        ("L1", "L2"),
        ("L2", "L3"),
        ("L3", "output"),
    ]
    assert graph.node("L1").label == "dense 32 units, relu, dropout 0.1"
    assert graph.node("L2").label == "dense 64 units, relu"  # no dropout: not mentioned


def test_cnn_graph_has_an_edge_per_input_and_to_the_classifier():
    space = get_space("cnn", layers=4, strides=(1, 2), pooling=True)
    values = {}
    for i, inputs in enumerate([(), (), (1,), (1, 3)], 1):
        values |= {f"filter_height_{i}": 3, f"filter_width_{i}": 5, f"filters_{i}": 24}
        values |= {f"stride_{i}": 1 + (i == 2), f"pool_{i}": i == 4, f"inputs_{i}": inputs}
    graph = space.graph(space.make(values))
    assert [n.id for n in graph.nodes] == ["input", "C1", "C2", "C3", "C4", "output"]
    expected = {("input", "C1"), ("input", "C2"), ("C1", "C3"), ("C1", "C4"), ("C3", "C4")}
    expected |= {("C2", "output"), ("C4", "output")}  # the layers no later layer takes
    assert {(e.src, e.dst) for e in graph.edges} == expected
    assert len(graph.edges) == len(expected)
    assert graph.node("C2").label == "C2: conv 3×5, 24 filters, stride 2"
    assert graph.node("C4").label == "C4: conv 3×5, 24 filters, stride 1, max-pool 2×2"
    assert len(layout(graph).arcs) == 4  # input→C2, C1→C4, C2→output, C1→C3


def test_cnn_without_skips_is_a_chain():
    space = get_space("cnn", layers=3, skips=False)
    graph = space.graph(space.sample(random.Random(0)))
    pairs = [(e.src, e.dst) for e in graph.edges]
    assert pairs == [("input", "C1"), ("C1", "C2"), ("C2", "C3"), ("C3", "output")]
    assert not layout(graph).arcs


def test_nb201_graph_is_the_cell_with_an_operation_on_each_edge_and_its_skeleton():
    space = get_space("nb201", cells_per_stage=2)
    arch = space.from_string(NB201_CELL)
    graph = space.graph(arch)
    assert [n.id for n in graph.nodes] == ["n0", "n1", "n2", "n3"]
    ops = {(e.src, e.dst): e.label for e in graph.edges}
    assert ops == {(f"n{j}", f"n{i}"): arch[f"edge_{i}_{j}"] for i in (1, 2, 3) for j in range(i)}
    assert {(e.src, e.dst) for e in graph.edges if e.inactive} == {("n0", "n2"), ("n1", "n3")}
    skeleton = [n.label for n in graph.context.nodes]
    assert skeleton.count("cell × 2, 16 channels") == 1 and len(skeleton) == 8
    assert [n.label for n in graph.context.nodes if "residual" in n.label] == [
        "residual block: stride 2, 32 channels",
        "residual block: stride 2, 64 channels",
    ]


def test_generic_graph_chains_the_decisions_of_each_layer():
    space = get_space("mlp", dropouts=())
    graph = Space.graph(space, space.make({"depth": 1, "width_1": 64, "activation_1": "elu"}))
    assert [n.label for n in graph.nodes] == [
        "input",
        "depth=1",
        "width_1=64, activation_1=elu",
        "output",
    ]
    assert len(graph.edges) == 3


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    return [t.text or "" for t in root.iter() if t.tag.endswith("text")]


def test_svg_is_well_formed_and_has_the_labels_as_text():
    svg = architecture_svg(NASCNN15.space, NASCNN15.arch)
    assert svg.startswith("<svg")  # ready to go inside an HTML page
    texts = svg_texts(svg)
    for i, (height, width, filters, _) in enumerate(LAYERS, 1):
        assert f"C{i}: conv {height}×{width}, {filters} filters" in texts
    space = get_space("nb201")
    texts = svg_texts(architecture_svg(space, space.from_string(NB201_CELL)))
    assert {"nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none"} <= set(texts)


@pytest.mark.parametrize("name", SPACES.names())
def test_every_space_draws_its_sampled_architectures(name):
    """Each node of a sampled architecture is drawn once with its label, each edge once."""
    space = get_space(name, **OPTIONS.get(name, {}))
    for seed in range(3):
        arch = space.sample(random.Random(seed))
        graph = space.graph(arch)
        drawn = layout(graph)
        assert [box.node for box in drawn.boxes.values()] == list(graph.nodes)
        assert [link.edge for link in drawn.links] == list(graph.edges)
        texts = svg_texts(architecture_svg(space, arch))
        assert {node.label for node in graph.nodes} <= set(texts)


def test_write_drawing_writes_svg_and_png(tmp_path):
    svg, png = write_drawing(NASCNN15.space, NASCNN15.arch, tmp_path / "net.v1", name="NASCNN15")
    assert (svg.name, png.name) == ("net.v1.svg", "net.v1.png")
    assert "NASCNN15 — cnn: 15 convolution layers" in " ".join(svg_texts(svg.read_text()))
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[1] > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.v1.png", "net.v1.svg"]


def test_search_and_train_write_the_drawings(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["search", "--dataset", "iris", "--space", "mlp", "--strategy", "random",
                 "--trials", "2", "--epochs", "1", "--final-epochs", "1", "--final-models",
                 "1", "--out", str(run)]) == 0  # fmt: skip
    for name in ("best_arch.svg", "best_arch.png"):
        assert (run / name).stat().st_size > 0
    assert "dense" in " ".join(svg_texts((run / "best_arch.svg").read_text()))
    out = tmp_path / "train"
    code = main(["train", "--run", str(run), "--epochs", "1", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert (out / "arch.svg").read_text() == (run / "best_arch.svg").read_text()
    assert (out / "arch.png").stat().st_size > 0
