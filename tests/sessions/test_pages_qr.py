"""The join QR code: inline SVG with only the URL encoded and an escaped label."""

from app.sessions.qr import qr_svg


def test_qr_code_is_an_accessible_inline_svg() -> None:
    svg = str(qr_svg("http://lab.example.eu/join/ABC234", 'Join <script>"x"</script>'))
    assert svg.startswith(
        '<svg role="img" aria-label="Join &lt;script&gt;&#34;x&#34;&lt;/script&gt;"'
    )
    assert "<script" not in svg and 'id="qr-path"' not in svg and "mm" not in svg.split(">")[0]
    assert 'viewBox="0 0' in svg and "<path" in svg


def test_different_links_give_different_codes() -> None:
    assert qr_svg("http://a.example/join/AAAAAA") != qr_svg("http://a.example/join/BBBBBB")
