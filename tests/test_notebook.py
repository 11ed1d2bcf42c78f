from gptlib.notebook import Table, table


def test_table_renders_html_and_text():
    t = table([{"model": "GPT-2", "params": "1.5B"}, {"model": "a<b", "params": 3}], caption="c")
    assert isinstance(t, Table)
    html = t._repr_html_()
    assert "<th>model</th>" in html and "<td>1.5B</td>" in html and "a&lt;b" in html
    text = repr(t).splitlines()
    assert text[0] == "c" and text[1].split() == ["model", "params"] and text[-1].split() == ["a<b", "3"]


def test_table_column_subset():
    t = table([{"a": 1, "b": 2}], columns=["b"])
    assert "<th>a</th>" not in t._repr_html_() and repr(t).splitlines()[-1] == "2"


def test_table_from_tuples_with_columns():
    t = table([("a", 1), ("b", 2)], columns=["name", "n"])
    assert t.columns == ["name", "n"] and t.rows[1] == {"name": "b", "n": 2}
    assert repr(t).splitlines()[-1].split() == ["b", "2"]


def test_glue_all_glues_each_value_and_shows_nothing(monkeypatch):
    import gptlib.notebook as nb
    seen = {}
    monkeypatch.setattr(nb, "glue", lambda name, value: seen.update({name: value}))
    assert nb.glue_all(a="1.0", b=2) is None          # a cell ending with it prints nothing
    assert seen == {"a": "1.0", "b": 2}


def test_sci_and_relation():
    from gptlib.notebook import relation, sci
    assert sci(3.146e23) == "3.15×10²³" and sci(1.5e-7, 1) == "1.5×10⁻⁷"
    assert relation(2, 1) == "higher than" and relation(1, 2) == "lower than"
    assert relation(1.0, 1.05, tol=0.1) == "about the same as"
    assert relation(3, 1, above="more", below="less") == "more"


def test_plain_log_ticks_and_heatmap():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from gptlib.notebook import heatmap, plain_log_ticks
    fig, (a1, a2) = plt.subplots(1, 2)
    a1.semilogy([1, 2, 3], [2, 20, 40])
    plain_log_ticks(a1, ticks=[1, 2, 5, 10, 20, 50, 1000])
    fig.canvas.draw()
    shown = [t.get_text() for t in a1.get_yticklabels()]
    assert "1000" not in shown and {"2", "5", "10", "20"} <= set(shown)
    im = heatmap(a2, torch.eye(3), xlabels=list("abc"), ylabels=list("xyz"), annotate=True,
                 vmin=0, vmax=1, title="t")
    assert im.get_array().shape == (3, 3) and len(a2.texts) == 9
    assert a2.texts[0].get_color() == "white" and a2.texts[1].get_color() == "black"
    plt.close(fig)


def test_diagrams_ship_with_gptlib_and_match_assets():
    import xml.etree.ElementTree as ET
    from pathlib import Path
    import pytest
    from gptlib.notebook import diagram, diagram_names
    root = Path(__file__).resolve().parent.parent
    names = diagram_names()
    assert {"gpt_model", "gpt_block", "qkv_heads", "causal_mask", "post_vs_pre_ln",
            "transformer_families"} <= set(names)
    for name in names:
        shipped = (root / "gptlib" / "diagrams" / f"{name}.svg").read_text(encoding="utf-8")
        assert (root / "assets" / f"{name}.svg").read_text(encoding="utf-8") == shipped, name
        svg = ET.fromstring(shipped)                       # well-formed XML
        assert svg.tag.endswith("svg") and "\n\n" not in shipped
        assert "href" not in shipped, "a diagram must not reference other files"
        shown = diagram(name)
        assert shown._repr_svg_().lstrip().startswith("<svg")
    with pytest.raises(KeyError):
        diagram("no such diagram")


def test_draw_diagrams_script_is_in_sync():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "tools" / "draw_diagrams.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
