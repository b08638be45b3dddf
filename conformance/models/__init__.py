"""Small sequential models of the components: ``init`` + ``step(state, op) -> (result, state)``.

A model is the simplest executable statement of a component's behaviour, used
as the oracle of the conformance machines and (later) by the linearizability
checker. ``step`` never mutates its input state.
"""
