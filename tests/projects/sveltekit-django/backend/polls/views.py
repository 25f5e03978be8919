from django.http import Http404, JsonResponse

POLLS = [
    {"id": 1, "question": "Tabs or spaces?"},
    {"id": 2, "question": "Where do we eat on Friday?"},
]


def health(request):
    return JsonResponse({"status": "ok"})


def poll_list(request):
    return JsonResponse(POLLS, safe=False)


def poll_detail(request, poll_id):
    for poll in POLLS:
        if poll["id"] == poll_id:
            return JsonResponse(poll)
    raise Http404("no such poll")
