"""Token minting: `/mint-token/` (included at the site root)."""
from django.urls import path

from tokens import views

urlpatterns = [
    path("mint-token/", views.mint_token, name="mint-token"),
]
