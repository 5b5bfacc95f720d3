"""HTML to PDF with WeasyPrint, set up once for every part that makes PDFs (the playbooks'
documents, the analytics' weekly report): documents are self-contained (styles inline, images
as data: URLs), so the fetcher reads nothing on disk or on the network; fonts are the
system's (Debian's DejaVu, installed by `make pdf-libraries`)."""

from __future__ import annotations

import threading


def _data_urls_only():
    """WeasyPrint's URL fetcher, able to open data: URLs and nothing else. Built without the
    standard handlers: WeasyPrint's own builds an HTTPS context per document, which costs more
    than laying out an invoice."""
    from urllib import request

    from weasyprint.urls import URLFetcher

    class DataUrlsOnly(URLFetcher):
        def __init__(self) -> None:
            request.OpenerDirector.__init__(self)
            self.add_handler(request.DataHandler())
            self._timeout = 10
            self._http_headers: dict[str, str] = {}
            self._allowed_protocols = {"data"}
            self._fail_on_errors = False
            self._request = None

    return DataUrlsOnly()


_fonts = threading.local()


def _font_configuration():
    """One WeasyPrint font configuration per thread, kept: a new one per document costs time
    and leaks fontconfig memory (about 0.4 MiB a document)."""
    configuration = getattr(_fonts, "configuration", None)
    if configuration is None:
        from weasyprint.text.fonts import FontConfiguration

        configuration = _fonts.configuration = FontConfiguration()
    return configuration


def html_to_pdf(html: str) -> bytes:
    """Documents are self-contained (styles inline, images as data: URLs): the fetcher reads
    nothing on disk or on the network."""
    import weasyprint  # imported when first used: it takes a while to load

    document = weasyprint.HTML(string=html, url_fetcher=_data_urls_only())
    return document.write_pdf(font_config=_font_configuration())
