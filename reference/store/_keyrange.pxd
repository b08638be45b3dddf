# The typed API of the compiled key-range core (twin: _keyrange_pure.py).

cpdef tuple keys_in_range(list sorted_keys, bytes key, object range_end)
cpdef bint in_range(bytes candidate, bytes key, object range_end)
