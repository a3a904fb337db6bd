from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Ad, ImpressionCounter


def record_impression(request, ad_id):
    ad = get_object_or_404(Ad, pk=ad_id)
    day = timezone.localdate()
    counter, _ = ImpressionCounter.objects.get_or_create(ad=ad, impression_date=day)
    ImpressionCounter.objects.filter(pk=counter.pk).update(count=F("count") + 1)
    return HttpResponse(status=204)
