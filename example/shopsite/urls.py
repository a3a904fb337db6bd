from django.urls import path

from ads import views

urlpatterns = [
    path("ads/<int:ad_id>/impression/", views.record_impression, name="ad-impression"),
]
