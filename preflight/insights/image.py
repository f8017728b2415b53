"""The architecture diagram as an SVG or PNG, drawn by Graphviz through the ``graphviz``
package (``pip install 'microservices-platform[diagram]'``) when the ``dot`` program is
installed (``apt-get install graphviz``, ``brew install graphviz``). Without either, the
report says why and the Mermaid diagram stands alone."""

from __future__ import annotations

from pathlib import Path

from .diagram import Diagram

STYLE = {"network": "solid", "route": "bold", "iam": "dashed"}


def render_image(diagram: Diagram, path: str) -> tuple[str, str]:
    """(written path, "") or ("", why not)."""
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png"):
        return "", f"--diagram {path}: use a .svg or .png file name"
    try:
        import graphviz
    except ImportError:
        return "", ("diagram image skipped: the graphviz package is not installed "
                    "(pip install 'microservices-platform[diagram]')")
    dot = graphviz.Digraph("estate", graph_attr={"rankdir": "LR", "fontname": "Helvetica"},
                           node_attr={"shape": "box", "fontname": "Helvetica"})
    groups: dict[tuple[str, str], list[str]] = {}
    for node in diagram.nodes:
        groups.setdefault((node.vpc, node.tier), []).append(node.id)
    labels = {n.id: n.label for n in diagram.nodes}
    for i, ((vpc, tier), ids) in enumerate(sorted(groups.items())):
        title = "Regional services" if tier == "regional" else (
            "Internet" if tier == "internet" else f"{vpc} · {tier} subnets")
        with dot.subgraph(name=f"cluster_{i}") as sub:
            sub.attr(label=title, style="rounded")
            for nid in ids:
                sub.node(nid, labels[nid])
    for edge in diagram.edges:
        dot.edge(edge.source, edge.target, label=edge.label, style=STYLE[edge.via])
    try:
        data = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        return "", ("diagram image skipped: Graphviz's dot program is not installed "
                    "(apt-get install graphviz)")
    try:
        target.write_bytes(data)
    except OSError as exc:
        return "", f"cannot write {path}: {exc.strerror}"
    return str(target), ""
