"""Photos residents and staff attach: type and size checked, and re-encoded so that no
EXIF data (the phone's GPS position above all) is ever stored or served."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats accepted, and what each is stored as.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; beyond it, decoding is refused
MAX_EDGE = 2560  # stored photos are scaled down to this longest edge


@dataclass(frozen=True)
class CleanPhoto:
    content: ContentFile[bytes]
    content_type: str
    width: int
    height: int


def photo_clean(upload: UploadedFile) -> CleanPhoto:
    name = upload.name or "photo"
    if upload.size is not None and upload.size > settings.REQUEST_PHOTO_MAX_BYTES:
        raise ValidationError(
            _("照片“%(name)s”太大：每张不超过 %(mb)s MB。")
            % {"name": name, "mb": settings.REQUEST_PHOTO_MAX_BYTES // (1024 * 1024) or 1}
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(upload)
            image_format = image.format or ""
            if image_format not in FORMATS:
                raise ValidationError(_("“%(name)s”不是支持的照片格式（JPEG、PNG、WebP）。") % {"name": name})
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(_("照片“%(name)s”像素过多，请缩小后再上传。") % {"name": name})
            image.load()
            # Keep the orientation the phone meant, then drop every tag by re-encoding.
            image = ImageOps.exif_transpose(image)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, SyntaxError):
        raise ValidationError(_("“%(name)s”无法作为照片读取。") % {"name": name}) from None
    image.thumbnail((MAX_EDGE, MAX_EDGE))
    content_type, extension = FORMATS[image_format]
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif image_format == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=85)
    return CleanPhoto(ContentFile(out.getvalue(), name=f"photo.{extension}"), content_type, image.width,
                      image.height)


def photos_check_count(uploads: list[UploadedFile]) -> None:
    if len(uploads) > settings.REQUEST_PHOTOS_MAX:
        raise ValidationError(_("最多上传 %(n)s 张照片。") % {"n": settings.REQUEST_PHOTOS_MAX})
