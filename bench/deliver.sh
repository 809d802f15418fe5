#!/usr/bin/env bash
# Deliver a Looker dashboard once with curl and jq: log in, POST /scheduled_plans/run_once, log out.
#
# Usage: deliver.sh DASHBOARD_ID FILTERS_JSON ADDRESS FORMAT PLAN_NAME
#   FILTERS_JSON is an object of dashboard filter names to filter expressions, e.g. '{"Brand": "Calvin Klein"}'.
# Environment: LOOKER_BASE_URL (e.g. https://mycompany.cloud.looker.com), LOOKER_CLIENT_ID, LOOKER_CLIENT_SECRET.
# Prints the id of the run-once plan. The client secret and the access token reach curl on its standard
# input, never on its command line, where other users of the machine could read them.
set -euo pipefail

if [ "$#" -ne 5 ]; then
    echo "usage: $0 DASHBOARD_ID FILTERS_JSON ADDRESS FORMAT PLAN_NAME" >&2
    exit 2
fi
: "${LOOKER_BASE_URL:?set LOOKER_BASE_URL to the Looker URL}"
: "${LOOKER_CLIENT_ID:?set LOOKER_CLIENT_ID to the API client id}"
: "${LOOKER_CLIENT_SECRET:?set LOOKER_CLIENT_SECRET to the API client secret}"

dashboard_id=$1 filters_json=$2 address=$3 format=$4 plan_name=$5
api="${LOOKER_BASE_URL%/}/api/4.0"
curl_options=(--silent --show-error --fail-with-body --noproxy '*' --max-time 120)

# The form body is percent-encoded by curl; the secret is read from standard input ("name@-").
token=$(printf '%s' "$LOOKER_CLIENT_SECRET" \
    | curl "${curl_options[@]}" \
        --data-urlencode "client_id=$LOOKER_CLIENT_ID" \
        --data-urlencode "client_secret@-" \
        "$api/login" \
    | jq -er '.access_token')

logout() {
    printf 'header = "Authorization: token %s"\n' "$token" \
        | curl "${curl_options[@]}" --config - --request DELETE --output /dev/null "$api/logout" \
        || echo "logout failed; the token expires on its own" >&2
}
trap logout EXIT

# jq builds the JSON body and percent-encodes each filter name and value (@uri) into filters_string.
body=$(jq -n \
    --arg name "$plan_name" \
    --arg dashboard_id "$dashboard_id" \
    --argjson filters "$filters_json" \
    --arg address "$address" \
    --arg format "$format" \
    '{
        name: $name,
        run_once: true,
        dashboard_id: $dashboard_id,
        filters_string: ("?" + ([$filters | to_entries[] | "\(.key | @uri)=\(.value | @uri)"] | join("&"))),
        scheduled_plan_destination: [{type: "email", address: $address, format: $format}]
    }')

printf 'header = "Authorization: token %s"\n' "$token" \
    | curl "${curl_options[@]}" --config - \
        --header "Content-Type: application/json" \
        --data-binary "$body" \
        "$api/scheduled_plans/run_once" \
    | jq -er '.id'
