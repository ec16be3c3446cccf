"""Generate valid DICOM files with pydicom: demo data, test data and benchmark archives.

UIDs are derived from the arguments (`generate_uid(entropy_srcs=...)`), so the
same call always produces the same files and uploading them twice is a no-op.
"""

from __future__ import annotations

import datetime
import io
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "XA": "1.2.840.10008.5.1.4.1.1.12.1",
    "NM": "1.2.840.10008.5.1.4.1.1.20",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
}
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def uid(*parts: object) -> str:
    return generate_uid(entropy_srcs=[str(p) for p in parts])


@dataclass(frozen=True)
class PatientInfo:
    name: str
    patient_id: str
    birth_date: str = ""
    sex: str = ""


@dataclass(frozen=True)
class StudyInfo:
    patient: PatientInfo
    key: str  # anything unique: the study's UIDs are derived from it
    date: str = ""
    time: str = ""
    description: str = ""
    accession: str = ""

    @property
    def uid(self) -> str:
        return uid("study", self.patient.patient_id, self.key)


#: Name pools by script: family names, then given names. DICOM PN is "Family^Given".
NAME_POOLS: dict[str, tuple[list[str], list[str]]] = {
    pool: (families.split(", "), givens.split(", "))
    for pool, families, givens in (
        (
            "english",
            "Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Taylor, Clark, Lewis, Walker, Hall, "
            "Young, O'Brien, MacDonald, Harris, Martin, Thompson, White",
            "James, Mary, John, Patricia, Robert, Jennifer, Michael, Linda, David, Susan, William, Emma, Olivia, "
            "Noah, Liam, Ava, Siobhán, Mary Ann, Jean-Luc, Anne",
        ),
        (
            "accented",
            "García, Martínez, López, Hernández, Pérez, Müller, Schröder, Weiß, Lefèvre, Gonçalves, Conceição, "
            "Dvořák, Łukasiewicz, Nováková, Çelik, Öztürk, Bianchi, D'Angelo",
            "José, María, François, Zoë, Jürgen, Renée, Chloé, Anaïs, Łucja, Jiří, Ştefan, Inês, João, Élodie, "
            "Håkan, Agnieszka, Müge, Néstor",
        ),
        (
            "nordic",
            "Ødegård, Åberg, Sjöström, Bjørnstad, Järvinen, Lindqvist, Þórsson, Hämäläinen, Østergaard, Näslund, "
            "Sæther, Kjærgaard, Guðmundsdóttir, Strøm",
            "Søren, Åsa, Björn, Ingrid, Mikkel, Eila, Sigríður, Ørjan, Kåre, Päivi, Æsa, Tuulikki",
        ),
        (
            "korean",
            "김, 이, 박, 최, 정, 강, 조, 윤, 장, 임, 한, 오",
            "민준, 서연, 지훈, 하은, 도윤, 서준, 지우, 수아, 예준, 지민, 은서, 현우",
        ),
        ("japanese", "山田, 佐藤, 鈴木, 高橋, 田中, 渡辺, 伊藤, 中村", "太郎, 花子, 翔太, 陽菜, 蓮, 結衣, 大翔, 美咲"),
        ("greek", "Παπαδόπουλος, Γεωργίου, Νικολάου, Ιωάννου", "Γιώργος, Μαρία, Νίκος, Ελένη, Δημήτρης"),
    )
}
#: How often each pool is drawn (a European hospital with a large Korean community).
NAME_WEIGHTS = {"english": 40, "accented": 25, "nordic": 12, "korean": 15, "japanese": 5, "greek": 3}
KOREAN_ROMANISED = {"김": "Kim", "이": "Lee", "박": "Park", "최": "Choi", "정": "Jung", "강": "Kang"}


def random_name(rng: random.Random) -> str:
    """A plausible DICOM person name from one of NAME_POOLS."""
    pool = rng.choices(list(NAME_WEIGHTS), weights=list(NAME_WEIGHTS.values()))[0]
    families, givens = NAME_POOLS[pool]
    family, given = rng.choice(families), rng.choice(givens)
    if pool == "korean" and family in KOREAN_ROMANISED and rng.random() < 0.3:
        return f"{KOREAN_ROMANISED[family]}^{given}={family}^{given}"  # romanised and hangul groups
    return f"{family}^{given}"


def random_date(rng: random.Random, first_year: int, last_year: int) -> str:
    """A DICOM DA date (YYYYMMDD) uniformly between 1 January of `first_year` and 31 December of `last_year`."""
    start = datetime.date(first_year, 1, 1)
    days = (datetime.date(last_year, 12, 31) - start).days
    return (start + datetime.timedelta(days=rng.randint(0, days))).strftime("%Y%m%d")


def random_patient(rng: random.Random, patient_id: str) -> PatientInfo:
    """A patient with a name from NAME_POOLS, a birth date between 1930 and 2022 and a sex."""
    return PatientInfo(random_name(rng), patient_id, random_date(rng, 1930, 2022), rng.choice("MMFFFO"))


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def image_dataset(
    study: StudyInfo,
    *,
    series_key: str,
    series_number: int,
    instance_number: int,
    modality: str,
    pixels: np.ndarray,
    series_description: str = "",
    geometry: dict[str, object] | None = None,
    extra: dict[str, object] | None = None,
) -> Dataset:
    """A single-frame 16-bit (or 8-bit) monochrome image in a fully formed file."""
    patient = study.patient
    series_uid = uid("series", study.uid, series_key)
    sop_class = SOP_CLASSES.get(modality, SECONDARY_CAPTURE)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = uid("instance", series_uid, instance_number)
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: Korean, accents and the rest
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = study.uid
    ds.StudyDate = study.date
    ds.StudyTime = study.time
    ds.StudyDescription = study.description
    ds.AccessionNumber = study.accession
    ds.StudyID = study.key[:16]
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    ds.SeriesDate = study.date
    ds.Modality = modality
    ds.InstanceNumber = instance_number
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    bits = 8 if pixels.dtype == np.uint8 else 16
    ds.BitsAllocated = bits
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    for key, value in {**(geometry or {}), **(extra or {})}.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def phantom_volume(size: int = 256, slices: int = 96) -> np.ndarray:
    """A head-like phantom (skull, brain, ventricles, a few lesions) as uint16 [z, y, x]."""
    z, y, x = np.mgrid[-1 : 1 : slices * 1j, -1 : 1 : size * 1j, -1 : 1 : size * 1j]
    volume = np.zeros((slices, size, size), dtype=np.float32)
    # (centre z, y, x), (radii z, y, x), value added inside
    ellipsoids = [
        ((0.0, 0.0, 0.0), (0.92, 0.80, 0.66), 900.0),  # scalp and skull
        ((0.0, 0.0, 0.0), (0.86, 0.74, 0.60), -650.0),  # inside the skull
        ((0.0, 0.02, 0.0), (0.82, 0.70, 0.56), 300.0),  # brain
        ((0.05, -0.05, -0.12), (0.35, 0.30, 0.07), 350.0),  # left ventricle
        ((0.05, -0.05, 0.12), (0.35, 0.30, 0.07), 350.0),  # right ventricle
        ((0.30, 0.35, -0.25), (0.10, 0.08, 0.08), 250.0),  # lesion
        ((-0.35, 0.10, 0.30), (0.12, 0.10, 0.10), 180.0),  # lesion
        ((-0.60, 0.30, 0.0), (0.15, 0.20, 0.25), 120.0),  # cerebellum
    ]
    for (cz, cy, cx), (rz, ry, rx), value in ellipsoids:
        inside = ((z - cz) / rz) ** 2 + ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0
        volume[inside] += value
    rng = np.random.default_rng(7)
    volume += rng.normal(0, 12, volume.shape).astype(np.float32)
    return np.clip(volume, 0, 4095).astype(np.uint16)


def axial_volume(
    study: StudyInfo,
    volume: np.ndarray,
    *,
    modality: str,
    series_key: str,
    series_number: int,
    pixel_spacing: float,
    slice_spacing: float,
    description: str,
    extra: dict[str, object],
) -> Iterator[bytes]:
    """One file per slice of `volume` [z, y, x], with consistent axial geometry (any upload order works)."""
    slices, size = volume.shape[0], volume.shape[1]
    origin = -size * pixel_spacing / 2
    for index in range(slices):
        z = -slices * slice_spacing / 2 + index * slice_spacing
        geometry = {
            "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
            "ImagePositionPatient": [origin, origin, z],
            "PixelSpacing": [pixel_spacing, pixel_spacing],
            "SliceThickness": slice_spacing,
            "SpacingBetweenSlices": slice_spacing,
            "SliceLocation": z,
            "FrameOfReferenceUID": uid("for", study.uid),
            **extra,
        }
        yield encode(
            image_dataset(
                study,
                series_key=series_key,
                series_number=series_number,
                instance_number=index + 1,
                modality=modality,
                pixels=volume[index],
                series_description=description,
                geometry=geometry,
            )
        )


def mr_volume(
    study: StudyInfo,
    *,
    series_key: str = "t1-axial",
    series_number: int = 3,
    size: int = 256,
    slices: int = 96,
    pixel_spacing: float = 0.9375,
    slice_spacing: float = 2.0,
    description: str = "T1 AXIAL 3D",
) -> Iterator[bytes]:
    """An axial MR volume of the head phantom, with the file's own window."""
    mr = {"WindowCenter": 600, "WindowWidth": 1200, "RepetitionTime": 500, "EchoTime": 15, "MagneticFieldStrength": 1.5}
    return axial_volume(
        study,
        phantom_volume(size, slices),
        modality="MR",
        series_key=series_key,
        series_number=series_number,
        pixel_spacing=pixel_spacing,
        slice_spacing=slice_spacing,
        description=description,
        extra=mr,
    )


def ct_volume(
    study: StudyInfo,
    *,
    series_key: str = "ct-axial",
    series_number: int = 2,
    size: int = 512,
    slices: int = 100,
    pixel_spacing: float = 0.5,
    slice_spacing: float = 1.0,
    description: str = "CT axial 1 mm",
) -> Iterator[bytes]:
    """An axial CT volume in signed 16-bit Hounsfield units (air −1000), with a soft-tissue window."""
    hounsfield = (phantom_volume(size, slices).astype(np.int32) * 2 - 1000).clip(-1024, 3071).astype(np.int16)
    ct = {"RescaleIntercept": 0, "RescaleSlope": 1, "WindowCenter": 40, "WindowWidth": 400, "KVP": 120}
    return axial_volume(
        study,
        hounsfield,
        modality="CT",
        series_key=series_key,
        series_number=series_number,
        pixel_spacing=pixel_spacing,
        slice_spacing=slice_spacing,
        description=description,
        extra=ct,
    )


def radiographs(study: StudyInfo, count: int = 20, rows: int = 2500, columns: int = 2048) -> Iterator[bytes]:
    """Large 12-bit projection radiographs (CR), the heaviest common thumbnail source."""
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    body = np.exp(-(((x - columns / 2) / (columns * 0.3)) ** 2) - (((y - rows / 2) / (rows * 0.35)) ** 2))
    ribs = 0.15 * (np.sin(y / 40.0) > 0.6) * (body > 0.4)
    base = (body * 2600 + ribs * 1200).astype(np.float32)
    rng = np.random.default_rng(11)
    for index in range(count):
        pixels = np.clip(base + rng.normal(0, 40, base.shape), 0, 4095).astype(np.uint16)
        extra = {
            "BitsStored": 12,
            "HighBit": 11,
            "WindowCenter": 2048,
            "WindowWidth": 4096,
            "ImagerPixelSpacing": [0.139, 0.139],
            "BodyPartExamined": "CHEST",
        }
        ds = image_dataset(
            study,
            series_key="cr",
            series_number=1,
            instance_number=index + 1,
            modality="CR",
            pixels=pixels,
            series_description="Chest PA",
            extra=extra,
        )
        yield encode(ds)


def small_image(seed: int, size: int = 64) -> np.ndarray:
    """A cheap, recognisable 8-bit test pattern that differs with `seed`."""
    y, x = np.mgrid[0:size, 0:size]
    pattern = ((x + seed * 7) % 32 < 16) ^ ((y + seed * 3) % 32 < 16)
    return (pattern * 160 + (x * 90 // size)).astype(np.uint8)


def small_study(
    study: StudyInfo,
    modality: str = "CT",
    series: int = 1,
    instances: int = 1,
    size: int = 64,
    descriptions: Sequence[str] = (),
) -> Iterator[bytes]:
    """A study of small 8-bit images, `series` × `instances` files, series described by `descriptions`."""
    for s in range(series):
        for i in range(instances):
            yield encode(
                image_dataset(
                    study,
                    series_key=f"s{s}",
                    series_number=s + 1,
                    instance_number=i + 1,
                    modality=modality,
                    pixels=small_image(s * 31 + i, size),
                    series_description=descriptions[s] if s < len(descriptions) else f"{modality} series {s + 1}",
                    geometry={
                        "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
                        "ImagePositionPatient": [0, 0, i * 5.0],
                        "PixelSpacing": [1.0, 1.0],
                        "SliceThickness": 5.0,
                    },
                )
            )
