"""POST Service Request: keys, places, attributes, photos, validation, and tokens."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import ExifTags, Image

from linli.requests.models import Attachment, Category, Channel, EventKind, Request, Status
from tests.conftest import Tree
from tests.requests.open311.conftest import BASE, Keys, as_json, error_codes, xml

pytestmark = pytest.mark.django_db


def form(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"service_code": "repairs", "description": "3号楼2单元5层楼道灯不亮\n已经三天了",
                            "address_string": "3号楼2单元5层", "attribute[facility]": "light"}
    data.update(extra)
    return data


def test_post_creates_a_request_through_intake(client: Client, keys: Keys, tree: Tree) -> None:
    response = client.post(f"{BASE}/requests.json", form(
        api_key=keys.community, address_id="h1", lat="39.9042", long="116.4074", email="zhang@example.cn",
        first_name="三", last_name="张", phone="13800138000", device_id="dev-1", account_id="acc-9",
        **{"attribute[floor]": "5 层"}))
    assert response.status_code == 200
    (answer,) = as_json(response)
    assert set(answer) == {"service_request_id", "token", "service_notice", "account_id"}
    assert answer["account_id"] == "acc-9" and "受理" in answer["service_notice"]
    req = Request.objects.get(pk=int(answer["service_request_id"]))
    assert req.channel == Channel.OPEN311 and req.status == Status.SUBMITTED
    assert req.place == tree.household and req.community == tree.community and req.grid == tree.grid
    assert req.title == "3号楼2单元5层楼道灯不亮" and req.description.endswith("已经三天了")
    assert req.attributes == {"facility": "light", "floor": "5 层"}
    assert (req.contact_name, req.contact_phone, req.contact_email) == ("张三", "13800138000", "zhang@example.cn")
    assert (req.device_id, req.account_id, str(req.lat), str(req.long)) == ("dev-1", "acc-9", "39.904200", "116.407400")
    assert req.reporter is None and req.events.get().kind == EventKind.SUBMITTED
    assert req.events.get().actor_label.startswith("apikey:")


def test_post_answers_xml(client: Client, keys: Keys) -> None:
    response = client.post(f"{BASE}/requests.xml", form(api_key=keys.community))
    assert response.status_code == 200
    root = xml(response)
    assert root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    assert [c.tag for c in request] == ["service_request_id", "token", "service_notice", "account_id"]
    assert Request.objects.filter(pk=int(request.findtext("service_request_id") or 0)).exists()


def test_api_key_may_ride_in_the_query_string(client: Client, keys: Keys) -> None:
    response = client.post(f"{BASE}/requests.json?api_key={keys.community}", form())
    assert response.status_code == 200
    assert Request.objects.count() == 1


def test_without_a_place_code_the_key_place_is_used(client: Client, keys: Keys, tree: Tree) -> None:
    as_json(client.post(f"{BASE}/requests.json", form(api_key=keys.grid)))
    assert Request.objects.get().place == tree.grid


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "", "lk_deadbeef_nope", "not-a-key", "lk_é_x"])
def test_post_needs_a_valid_key(client: Client, fmt: str, key: str | None) -> None:
    data = form() if key is None else form(api_key=key)
    response = client.post(f"{BASE}/requests.{fmt}", data)
    assert response.status_code == 403 and error_codes(response, fmt) == [403]
    assert not Request.objects.exists()


def test_read_only_and_revoked_keys_cannot_post(client: Client, keys: Keys) -> None:
    from linli.accounts.models import ApiKey
    from linli.accounts.services import apikey_revoke

    response = client.post(f"{BASE}/requests.json", form(api_key=keys.auditor))
    assert response.status_code == 403 and error_codes(response) == [403]
    apikey_revoke(key=ApiKey.objects.get(name="樱花园 App"))
    response = client.post(f"{BASE}/requests.json", form(api_key=keys.community))
    assert response.status_code == 403
    assert not Request.objects.exists()


def test_a_partner_key_may_post(client: Client, keys: Keys) -> None:
    assert client.post(f"{BASE}/requests.json", form(api_key=keys.partner)).status_code == 200


@pytest.mark.parametrize(("extra", "status"), [
    ({"service_code": ""}, 400),
    ({"service_code": "nothing"}, 404),
    ({"address_string": ""}, 400),  # no location at all
    ({"lat": "39.9"}, 400),  # lat without long
    ({"lat": "north", "long": "116.4"}, 400),
    ({"lat": "NaN", "long": "116.4"}, 400),
    ({"lat": "95", "long": "116.4"}, 400),  # out of range (intake)
    ({"lat": "1e999999", "long": "1"}, 400),
    ({"address_id": "h3"}, 400),  # a household of the other community
    ({"address_id": "s1"}, 400),  # a street is not a place for a request
    ({"address_id": "nowhere"}, 400),
    ({"attribute[facility]": "spaceship"}, 400),
    ({"attribute[facility]": ""}, 400),  # required
    ({"email": "not-an-address"}, 400),
    ({"description": "x" * 4001}, 400),
    ({"address_string": "y" * 201}, 400),
    ({"jurisdiction_id": "elsewhere.gov"}, 404),
])
def test_bad_posts_are_refused_and_store_nothing(client: Client, keys: Keys, extra: dict[str, str], status: int) -> None:
    response = client.post(f"{BASE}/requests.json", form(api_key=keys.community, **extra))
    assert response.status_code == status, response.content
    assert error_codes(response) == [status]
    assert not Request.objects.exists()


def test_validation_errors_name_the_open311_field(client: Client, keys: Keys) -> None:
    response = client.post(f"{BASE}/requests.json", form(api_key=keys.community, **{"attribute[facility]": "x"},
                                                            address_string="y" * 201))
    descriptions = [item["description"] for item in as_json(response)]
    assert any(d.startswith("attribute[facility]") for d in descriptions)


def test_a_street_key_must_name_the_place(client: Client, keys: Keys, tree: Tree) -> None:
    response = client.post(f"{BASE}/requests.json", form(api_key=keys.street))
    assert response.status_code == 400 and "address_id" in as_json(response)[0]["description"]
    as_json(client.post(f"{BASE}/requests.json", form(api_key=keys.street, address_id="h3")))
    assert Request.objects.get().community == tree.other_community


def test_a_grid_key_cannot_file_in_the_next_grid(client: Client, keys: Keys) -> None:
    assert client.post(f"{BASE}/requests.json", form(api_key=keys.grid, address_id="g2")).status_code == 400
    assert client.post(f"{BASE}/requests.json", form(api_key=keys.grid, address_id="h2")).status_code == 200


def test_description_is_optional_as_in_the_spec(client: Client, keys: Keys) -> None:
    as_json(client.post(f"{BASE}/requests.json", form(api_key=keys.community, description="")))
    req = Request.objects.get()
    assert req.title == req.description == "设施报修"


def test_multivaluelist_attributes(client: Client, keys: Keys) -> None:
    Category.objects.filter(code="sanitation").update(attributes=[
        {"code": "kinds", "datatype": "multivaluelist", "required": True, "description": "哪些垃圾",
         "values": [{"key": "kitchen", "name": "厨余"}, {"key": "bulky", "name": "大件"}, {"key": "other", "name": "其他"}]},
    ])
    data = {"api_key": keys.community, "service_code": "sanitation", "address_string": "东门",
            "attribute[kinds][]": ["kitchen", "bulky"]}
    as_json(client.post(f"{BASE}/requests.json", data))
    assert Request.objects.get().attributes == {"kinds": ["kitchen", "bulky"]}
    data["attribute[kinds][]"] = ["kitchen", "rocket"]
    assert client.post(f"{BASE}/requests.json", data).status_code == 400


def gps_jpeg() -> bytes:
    image = Image.new("RGB", (80, 60), "orange")
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "TestPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (116.0, 23.0, 27.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_is_stored_without_exif(client: Client, keys: Keys) -> None:
    raw = gps_jpeg()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture carries a position
    upload = SimpleUploadedFile("IMG_0001.jpg", raw, content_type="image/jpeg")
    response = client.post(f"{BASE}/requests.json", {**form(api_key=keys.community), "media": upload})
    assert response.status_code == 200, response.content
    attachment = Attachment.objects.get()
    with attachment.file.open("rb") as stored:
        content = stored.read()
    assert b"Exif" not in content and b"TestPhone" not in content
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG" and not image.getexif() and image.size == (80, 60)
    assert attachment.request_id == int(as_json(response)[0]["service_request_id"])


def test_a_file_that_is_not_a_photo_is_refused(client: Client, keys: Keys) -> None:
    upload = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    response = client.post(f"{BASE}/requests.json", {**form(api_key=keys.community), "media": upload})
    assert response.status_code == 400 and error_codes(response) == [400]
    assert not Request.objects.exists() and not Attachment.objects.exists()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_gives_back_the_request_id(client: Client, keys: Keys, fmt: str) -> None:
    (answer,) = as_json(client.post(f"{BASE}/requests.json", form(api_key=keys.community)))
    response = client.get(f"{BASE}/tokens/{answer['token']}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert as_json(response) == [{"service_request_id": answer["service_request_id"], "token": answer["token"]}]
    else:
        root = xml(response)
        assert root.tag == "service_requests" and root[0].tag == "request"
        assert root[0].findtext("service_request_id") == answer["service_request_id"]
        assert root[0].findtext("token") == answer["token"]


@pytest.mark.parametrize("token", ["nothing", "1:forged", "9999999999999999999999:x"])
def test_unknown_or_forged_tokens_are_404(client: Client, token: str) -> None:
    response = client.get(f"{BASE}/tokens/{token}.xml")
    assert response.status_code == 404 and error_codes(response, "xml") == [404]


def test_token_of_a_deleted_request_is_404(client: Client, keys: Keys) -> None:
    (answer,) = as_json(client.post(f"{BASE}/requests.json", form(api_key=keys.community)))
    Request.objects.all().delete()
    assert client.get(f"{BASE}/tokens/{answer['token']}.json").status_code == 404


def test_posts_need_no_csrf_token(keys: Keys) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"{BASE}/requests.json", form(api_key=keys.community)).status_code == 200


def test_a_session_is_no_key_for_any_persona(client: Client, personas: Any) -> None:
    from tests.conftest import login

    for persona in ("resident", "staff", "lead", "street_supervisor", "auditor"):
        signed_in = login(Client(), getattr(personas, persona))
        response = signed_in.post(f"{BASE}/requests.json", form(address_id="h1"))
        assert response.status_code == 403 and error_codes(response) == [403], persona
    assert not Request.objects.exists()
