"""Pages, one module per area. Views resolve the actor, call services and selectors, and render;
nothing else. Each module lists its own `urlpatterns`; ../urls.py joins them."""
