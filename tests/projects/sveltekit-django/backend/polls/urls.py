from django.urls import path

from . import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("polls/", views.poll_list, name="poll-list"),
    path("polls/<int:poll_id>/", views.poll_detail, name="poll-detail"),
]
