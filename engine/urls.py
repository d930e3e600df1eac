from django.urls import path

from engine import ops_views, tool_views, views

urlpatterns = [
    path("auth/access-token/", views.AccessTokenView.as_view()),
    path("file-ops/upload/", views.UploadView.as_view()),
    path("file-ops/list/", views.FileListView.as_view()),
    path("file-ops/info/", views.FileInfoView.as_view()),
    path("file-ops/usage/", views.UsageView.as_view()),
    path("file-ops/copy/", views.CopyView.as_view()),
    path("file-ops/delete/", views.DeleteView.as_view()),
    path("file-ops/delete-folder/", views.DeleteFolderView.as_view()),
    path("file-ops/get-public-url/", views.PublicUrlView.as_view()),
    path("tools/ai/remove-bg/process/", tool_views.RemoveBgView.as_view()),
    path("tools/ai/ai-cut/segment/", tool_views.AICutView.as_view()),
    path("tools/ai/ai-cut/prepare/", tool_views.AICutPrepareView.as_view()),
    path("tools/ai/ai-cut/preview/", tool_views.AICutPreviewView.as_view()),
    path("ops/jobs/", ops_views.JobListView.as_view()),
    path("ops/accounts/", ops_views.AccountListView.as_view()),
    path("files/<path:path>", views.FileDownloadView.as_view()),
    path("public/<str:token>", views.PublicFileView.as_view(), name="v3-public-file"),
]
