# cython: language_level=3, boundscheck=False, wraparound=False
"""The key-range hot path of the store, compiled (twin of ``_keyrange_pure.py``).

Same contract as the pure twin: ``keys_in_range`` gives the slice bounds of the
keys of ``sorted_keys`` that lie in etcd's range ``(key, range_end)``;
``in_range`` tests one key.
"""

cdef bytes ALL_KEYS_FROM = b"\0"


cdef Py_ssize_t _bisect_left(list keys, bytes target, Py_ssize_t lo):
    cdef Py_ssize_t hi = len(keys)
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if <bytes>keys[mid] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


cpdef tuple keys_in_range(list sorted_keys, bytes key, object range_end):
    cdef Py_ssize_t n = len(sorted_keys)
    cdef Py_ssize_t lo = _bisect_left(sorted_keys, key, 0)
    cdef Py_ssize_t hi
    if range_end is None:
        if lo < n and <bytes>sorted_keys[lo] == key:
            return lo, lo + 1
        return lo, lo
    if <bytes>range_end == ALL_KEYS_FROM:
        return lo, n
    hi = _bisect_left(sorted_keys, <bytes>range_end, lo)
    if hi < lo:
        hi = lo
    return lo, hi


cpdef bint in_range(bytes candidate, bytes key, object range_end):
    if range_end is None:
        return candidate == key
    if <bytes>range_end == ALL_KEYS_FROM:
        return candidate >= key
    return key <= candidate and candidate < <bytes>range_end
