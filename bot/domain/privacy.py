"""What a private incident shows outside its room.

Inside its (private) room a private incident is like any other. Outside it:

- the broadcast room gets one line: its key and its commander (``PrivateAnnouncement``);
- the weekly digest counts it (by type and severity, in MTTA/MTTR and compliance) but
  lists it without its title (:data:`PRIVATE_TITLE`), and leaves its amounts and affected
  transactions out of the money impact;
- the read API and the CLI leave it out unless the caller holds the private token;
- the status page reads only approved status drafts, private or not (nothing to do).
"""

from __future__ import annotations

# In lists read outside the room (the digest's open incidents, overdue post-mortems) a
# private incident's title is replaced by this.
PRIVATE_TITLE = "(private incident)"


def shown_title(title: str, private: bool) -> str:
    return PRIVATE_TITLE if private else title
