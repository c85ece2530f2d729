package httpapi_test

import "github.com/turbocat/turbocat/internal/httpapi"

func httpapiRoutes() []httpapi.Route { return httpapi.Routes() }
