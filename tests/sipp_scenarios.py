"""sipp UAC scenarios the softphone tests write: a caller with a real number and name, that can take
re-INVITEs (hold / resume), hang up after a pause, or give up (CANCEL) before an answer."""

from __future__ import annotations

_HEADERS = """\
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}
      From: "{name}" <sip:{number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>{to_tag}
      Call-ID: [call_id]
      CSeq: {cseq}
      Contact: <sip:{number}@[local_ip]:[local_port]>
      Max-Forwards: 70
"""
_SDP = """\
v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""
_REQUEST_URI = "sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n"


def uac(
    number: str,
    name: str,
    *,
    reinvites: int = 0,
    hangup_after_ms: int | None = None,
    cancel_after_ms: int | None = None,
    await_bye: bool = False,
) -> str:
    """A calling scenario. ``reinvites``: how many re-INVITEs (hold, resume, …) to answer after the call is up;
    ``hangup_after_ms``: BYE that long after the last of them; ``cancel_after_ms``: CANCEL that long after 180."""

    def headers(cseq: str, to_tag: str = "", branch: str = "[branch]") -> str:
        return _HEADERS.format(name=name, number=number, cseq=cseq, to_tag=to_tag, branch=branch)

    def send(text: str, retrans: bool = False) -> str:
        attr = ' retrans="500"' if retrans else ""
        return f"<send{attr}><![CDATA[\n{text}]]></send>\n"

    invite = send(
        "      INVITE "
        + _REQUEST_URI
        + headers("1 INVITE")
        + "      Content-Type: application/sdp\n      Content-Length: [len]\n\n"
        + _SDP,
        retrans=True,
    )
    ack = send("      ACK " + _REQUEST_URI + headers("1 ACK", "[peer_tag_param]") + "      Content-Length: 0\n\n")
    parts = [invite, '<recv response="100" optional="true"/>\n']
    if cancel_after_ms is not None:
        # the CANCEL must carry the INVITE's branch: 4 messages back (invite, 100, 180, pause)
        cancel = send(
            "      CANCEL " + _REQUEST_URI + headers("1 CANCEL", branch="[branch-4]") + "      Content-Length: 0\n\n"
        )
        parts += [
            '<recv response="180"/>\n',
            f'<pause milliseconds="{cancel_after_ms}"/>\n',
            cancel,
            '<recv response="200"/>\n',
            '<recv response="487"/>\n',
            ack,
        ]
    else:
        parts += [
            '<recv response="180" optional="true"/>\n',
            '<recv response="183" optional="true"/>\n',
            '<recv response="200" rtd="true"/>\n',
            ack,
        ]
        ok = (
            "      SIP/2.0 200 OK\n      [last_Via:]\n      [last_From:]\n      [last_To:]\n      [last_Call-ID:]\n"
            f"      [last_CSeq:]\n      Contact: <sip:{number}@[local_ip]:[local_port]>\n"
            "      Content-Type: application/sdp\n      Content-Length: [len]\n\n" + _SDP
        )
        for _ in range(reinvites):
            parts += ['<recv request="INVITE"/>\n', send(ok), '<recv request="ACK"/>\n']
        if hangup_after_ms is not None:
            bye = send(
                "      BYE " + _REQUEST_URI + headers("2 BYE", "[peer_tag_param]") + "      Content-Length: 0\n\n",
                retrans=True,
            )
            parts += [f'<pause milliseconds="{hangup_after_ms}"/>\n', bye, '<recv response="200" crlf="true"/>\n']
        elif await_bye:  # the agent hangs up: answer its BYE
            bye_ok = (
                "      SIP/2.0 200 OK\n      [last_Via:]\n      [last_From:]\n      [last_To:]\n"
                "      [last_Call-ID:]\n      [last_CSeq:]\n      Content-Length: 0\n\n"
            )
            parts += ['<recv request="BYE"/>\n', send(bye_ok)]
    body = "".join(parts)
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="cti-tui uac">\n{body}</scenario>\n'
