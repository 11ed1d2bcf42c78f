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
