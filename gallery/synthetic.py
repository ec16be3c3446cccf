"""Generate valid DICOM files with pydicom: demo data, test data and benchmark archives.

UIDs are derived from the arguments (`generate_uid(entropy_srcs=...)`), so the
same call always produces the same files and uploading them twice is a no-op.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
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
    """An axial MR volume with consistent geometry, one file per slice (shuffled order is fine)."""
    volume = phantom_volume(size, slices)
    origin = (-size * pixel_spacing / 2, -size * pixel_spacing / 2)
    for index in range(slices):
        geometry = {
            "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
            "ImagePositionPatient": [origin[0], origin[1], -slices * slice_spacing / 2 + index * slice_spacing],
            "PixelSpacing": [pixel_spacing, pixel_spacing],
            "SliceThickness": slice_spacing,
            "SpacingBetweenSlices": slice_spacing,
            "SliceLocation": -slices * slice_spacing / 2 + index * slice_spacing,
            "FrameOfReferenceUID": uid("for", study.uid),
            "WindowCenter": 600,
            "WindowWidth": 1200,
            "RepetitionTime": 500,
            "EchoTime": 15,
            "MagneticFieldStrength": 1.5,
        }
        yield encode(
            image_dataset(
                study,
                series_key=series_key,
                series_number=series_number,
                instance_number=index + 1,
                modality="MR",
                pixels=volume[index],
                series_description=description,
                geometry=geometry,
            )
        )


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
) -> Iterator[bytes]:
    """A study of small 8-bit images, `series` × `instances` files."""
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
                    series_description=f"{modality} series {s + 1}",
                    geometry={
                        "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
                        "ImagePositionPatient": [0, 0, i * 5.0],
                        "PixelSpacing": [1.0, 1.0],
                        "SliceThickness": 5.0,
                    },
                )
            )
