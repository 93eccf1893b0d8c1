def portal_navigation(request):
    return {}
