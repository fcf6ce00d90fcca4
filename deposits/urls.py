from django.urls import path

from . import views

app_name = "deposits"
urlpatterns = [
    path("", views.capture, name="capture"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("customers/", views.customer_lookup, name="customer_lookup"),
    path("supervision/", views.supervision, name="supervision"),
    path("supervision/import/", views.import_upload, name="import"),
    path("<int:pk>/", views.deposit_detail, name="detail"),
    path("<int:pk>/receipt/", views.receipt, name="receipt"),
    path("<int:pk>/receipt.pdf", views.receipt_pdf_view, name="receipt_pdf"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path(
        "<int:pk>/evidence/<int:evidence_pk>/",
        views.evidence_download,
        name="evidence",
    ),
    path("reversals/<int:pk>/", views.reversal_decide, name="reversal_decide"),
    path("conflicts/<int:pk>/", views.conflict_resolve, name="conflict_resolve"),
]
