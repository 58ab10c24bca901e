"""My dashboards: the viewer's saved dashboards and those shared with their role, drawn with today's filters."""

import streamlit as st

from dashboards import data, store, ui

ctx = ui.context()
f, viewer = ctx.filters, ctx.viewer

st.title("My dashboards")
ui.period_caption(ctx)

saved = store.list_visible(data.client(), viewer)
if not saved:
    st.info("Nothing saved yet. Build one on the Dashboard builder page and save it by name.")
    st.stop()


def _open_in_builder(board: store.SavedDashboard) -> None:
    """Preset the builder's widgets from a saved definition (the builder reads them from state)."""
    spec = board.spec
    for key in [k for k in st.session_state if str(k).startswith("b_")]:
        del st.session_state[key]
    st.session_state.update(b_mart=spec.mart, b_measures=list(spec.measures), b_dimensions=list(spec.dimensions),
                            b_chart=spec.chart, b_name=board.name if board.owned_by(viewer) else "",
                            b_share=list(board.shared_with_roles) if board.owned_by(viewer) else [],
                            **{f"b_filter_{k}": list(v) for k, v in spec.filters})


for i, board in enumerate(saved):
    with st.container(border=True):
        owner = "yours" if board.owned_by(viewer) else f"shared by {board.owner_username}"
        shared = f" · shared with {', '.join(board.shared_with_roles)}" if board.shared_with_roles else ""
        st.subheader(board.name)
        st.caption(f"{owner}{shared} · saved {board.updated_at:%d %b %Y %H:%M} UTC")
        if board.spec is None:
            st.warning(f"This dashboard no longer matches the available marts: {board.problem}.")
        else:
            with ui.section():
                ui.custom_dashboard(board.spec, f, key=f"board_{i}", title=board.name)
        actions = st.columns(2, width=360)
        if board.spec is not None and actions[0].button("Open in builder", key=f"edit_{i}"):
            _open_in_builder(board)
            st.switch_page("pages/builder.py")
        if board.owned_by(viewer) and actions[1].button("Delete", key=f"delete_{i}"):
            store.delete(data.client(), viewer, board.name)
            st.rerun()
