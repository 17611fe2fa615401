"""Windows access-control lists through the Windows API (ctypes), for :mod:`licsync.keyfile`.

Imported on Windows only. Two things: create a file whose protected DACL allows the current
user alone (the security descriptor given to ``CreateFileW``, so the file never exists with an
inherited ACL), and list who else an existing file's DACL lets read it.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterable
from ctypes import wintypes
from typing import Any

__all__ = ["create_private", "current_user_sid", "other_readers"]

_advapi32: Any = getattr(ctypes, "WinDLL")("advapi32", use_last_error=True)  # noqa: B009
_kernel32: Any = getattr(ctypes, "WinDLL")("kernel32", use_last_error=True)  # noqa: B009

_TOKEN_QUERY = 0x0008
_TOKEN_USER = 1
_SDDL_REVISION_1 = 1
_GENERIC_WRITE = 0x40000000
_CREATE_NEW = 1
_FILE_ATTRIBUTE_NORMAL = 0x80
_INVALID_HANDLE = wintypes.HANDLE(-1).value
_ERROR_FILE_EXISTS = 80
_ERROR_ALREADY_EXISTS = 183
_SE_FILE_OBJECT = 1
_OWNER_SECURITY_INFORMATION = 0x1
_DACL_SECURITY_INFORMATION = 0x4
_ACCESS_ALLOWED_ACE_TYPE = 0
_INHERIT_ONLY_ACE = 0x08
# FILE_READ_DATA, GENERIC_READ, GENERIC_ALL, and the rights that let one grant oneself reading.
_READS = 0x0001 | 0x80000000 | 0x10000000 | 0x00040000 | 0x00080000


class _SecurityAttributes(ctypes.Structure):
    _fields_ = (
        ("nLength", wintypes.DWORD),
        ("lpSecurityDescriptor", wintypes.LPVOID),
        ("bInheritHandle", wintypes.BOOL),
    )


class _AceHeader(ctypes.Structure):
    _fields_ = (
        ("AceType", ctypes.c_ubyte),
        ("AceFlags", ctypes.c_ubyte),
        ("AceSize", ctypes.c_ushort),
    )


class _AccessAllowedAce(ctypes.Structure):
    _fields_ = (("Header", _AceHeader), ("Mask", wintypes.DWORD), ("SidStart", wintypes.DWORD))


class _AclSizeInformation(ctypes.Structure):
    _fields_ = (
        ("AceCount", wintypes.DWORD),
        ("AclBytesInUse", wintypes.DWORD),
        ("AclBytesFree", wintypes.DWORD),
    )


def _last_error() -> int:
    code: int = getattr(ctypes, "get_last_error")()  # noqa: B009 - Windows only
    return code


def _fail(what: str) -> OSError:
    code = _last_error()
    return OSError(errno.EACCES, f"{what} failed (Windows error {code})")


def _sid_string(sid: int | None) -> str:
    text = wintypes.LPWSTR()
    if not _advapi32.ConvertSidToStringSidW(wintypes.LPVOID(sid), ctypes.byref(text)):
        raise _fail("ConvertSidToStringSidW")
    try:
        return str(text.value)
    finally:
        _kernel32.LocalFree(text)


def current_user_sid() -> str:
    """The SID (``S-1-5-21-…``) of the user this process runs as."""
    token = wintypes.HANDLE()
    _kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    process = wintypes.HANDLE(_kernel32.GetCurrentProcess())
    if not _advapi32.OpenProcessToken(process, _TOKEN_QUERY, ctypes.byref(token)):
        raise _fail("OpenProcessToken")
    try:
        needed = wintypes.DWORD()
        _advapi32.GetTokenInformation(token, _TOKEN_USER, None, 0, ctypes.byref(needed))
        buffer = ctypes.create_string_buffer(needed.value or 256)
        if not _advapi32.GetTokenInformation(
            token, _TOKEN_USER, buffer, len(buffer), ctypes.byref(needed)
        ):
            raise _fail("GetTokenInformation")
        # TOKEN_USER starts with SID_AND_ATTRIBUTES, which starts with the SID's pointer.
        sid = ctypes.cast(buffer, ctypes.POINTER(wintypes.LPVOID))[0]
        return _sid_string(sid)
    finally:
        _kernel32.CloseHandle(token)


def create_private(path: str, data: bytes) -> None:
    """Create ``path`` (it must not exist) holding ``data``, its DACL the current user alone.

    Raises:
        FileExistsError: ``path`` exists.
        OSError: the API refused (the message names the call and the Windows error).
    """
    sid = current_user_sid()
    descriptor = wintypes.LPVOID()
    # Protected (P: nothing inherited), full access (FA) for this user only, who owns it too.
    sddl = f"O:{sid}D:P(A;;FA;;;{sid})"
    if not _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
        sddl, _SDDL_REVISION_1, ctypes.byref(descriptor), None
    ):
        raise _fail("ConvertStringSecurityDescriptorToSecurityDescriptorW")
    try:
        attributes = _SecurityAttributes(ctypes.sizeof(_SecurityAttributes), descriptor, False)
        _kernel32.CreateFileW.restype = wintypes.HANDLE
        handle = _kernel32.CreateFileW(
            path,
            _GENERIC_WRITE,
            0,  # no sharing: nobody opens it while the secret is written
            ctypes.byref(attributes),
            _CREATE_NEW,
            _FILE_ATTRIBUTE_NORMAL,
            None,
        )
        if handle in (None, _INVALID_HANDLE):
            if _last_error() in (_ERROR_FILE_EXISTS, _ERROR_ALREADY_EXISTS):
                raise FileExistsError(errno.EEXIST, "exists", path)
            raise _fail("CreateFileW")
    finally:
        _kernel32.LocalFree(descriptor)
    import msvcrt  # noqa: PLC0415 - Windows only

    descriptor_number: int = getattr(msvcrt, "open_osfhandle")(handle, os.O_WRONLY)  # noqa: B009
    with os.fdopen(descriptor_number, "wb") as stream:
        stream.write(data)


def other_readers(path: str, expected: Iterable[str]) -> list[str]:
    """Who, besides the owner, the current user and ``expected`` SIDs, may read ``path``.

    Empty when nobody else, and when it cannot tell (the API fails, as it does where there are
    no ACLs): this is for warnings, and a warning must not be a guess.
    """
    try:
        return _other_readers(path, frozenset(expected))
    except (OSError, ValueError):
        return []


def _other_readers(path: str, expected: frozenset[str]) -> list[str]:
    owner = wintypes.LPVOID()
    dacl = wintypes.LPVOID()
    descriptor = wintypes.LPVOID()
    status = _advapi32.GetNamedSecurityInfoW(
        path,
        _SE_FILE_OBJECT,
        _OWNER_SECURITY_INFORMATION | _DACL_SECURITY_INFORMATION,
        ctypes.byref(owner),
        None,
        ctypes.byref(dacl),
        None,
        ctypes.byref(descriptor),
    )
    if status != 0:
        return []
    try:
        if not owner.value:
            return []
        if not dacl.value:
            return ["everyone (it has no access-control list)"]
        allowed = expected | {_sid_string(owner.value), current_user_sid()}
        size = _AclSizeInformation()
        if not _advapi32.GetAclInformation(dacl, ctypes.byref(size), ctypes.sizeof(size), 2):
            return []
        readers: list[str] = []
        for index in range(size.AceCount):
            ace = wintypes.LPVOID()
            if not _advapi32.GetAce(dacl, index, ctypes.byref(ace)):
                return []
            entry = ctypes.cast(ace, ctypes.POINTER(_AccessAllowedAce)).contents
            if entry.Header.AceType != _ACCESS_ALLOWED_ACE_TYPE:
                continue
            if entry.Header.AceFlags & _INHERIT_ONLY_ACE or not entry.Mask & _READS:
                continue
            sid = (ace.value or 0) + _AccessAllowedAce.SidStart.offset
            text = _sid_string(sid)
            if text not in allowed:
                readers.append(_account_name(sid, text))
        return readers
    finally:
        _kernel32.LocalFree(descriptor)


def _account_name(sid: int, fallback: str) -> str:
    name = ctypes.create_unicode_buffer(256)
    domain = ctypes.create_unicode_buffer(256)
    name_size = wintypes.DWORD(len(name))
    domain_size = wintypes.DWORD(len(domain))
    use = wintypes.DWORD()
    if not _advapi32.LookupAccountSidW(
        None,
        wintypes.LPVOID(sid),
        name,
        ctypes.byref(name_size),
        domain,
        ctypes.byref(domain_size),
        ctypes.byref(use),
    ):
        return fallback
    return f"{domain.value}\\{name.value}" if domain.value else name.value
