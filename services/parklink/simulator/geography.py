"""The alliance the simulator plays: member parks (real places), what each makes, and the
corridors between them with their border checkpoints and usual transit times."""

from __future__ import annotations

from dataclasses import dataclass

from parklink.eventkit.contracts import TransportMode


@dataclass(frozen=True)
class Product:
    category: str  # 4-digit HS heading
    sku: str
    unit: str
    lot: float  # a typical order quantity
    share: float  # share of the park's orders in this category


@dataclass(frozen=True)
class Park:
    park_id: str
    name: str
    city: str
    country: str
    lat: float
    lon: float
    products: tuple[Product, ...]


@dataclass(frozen=True)
class Checkpoint:
    name: str
    lat: float
    lon: float
    at: float  # where on the journey, as a fraction of the transit time
    dwell_hours: float  # usual time to clear it


@dataclass(frozen=True)
class Corridor:
    corridor_id: str
    mode: TransportMode
    origin: str  # supplier park
    destination: str  # buyer park
    transit_hours: float
    checkpoints: tuple[Checkpoint, ...]
    weight: float  # share of the alliance's trade on this lane


TRUCKS = Product("8704", "TRK-CAB", "pcs", 40, 0.6)
MOTORS = Product("8501", "EMOTOR", "pcs", 400, 0.4)

PARKS: tuple[Park, ...] = (
    Park(
        "CN-QD-SCODA",
        "China-SCO Local Economic and Trade Cooperation Demonstration Area",
        "Qingdao",
        "CN",
        36.07,
        120.38,
        (TRUCKS, MOTORS),
    ),
    Park(
        "KZ-KHR-ICBC",
        "Khorgos International Center for Boundary Cooperation",
        "Khorgos",
        "KZ",
        44.21,
        80.41,
        (Product("7308", "STEEL-FRAME", "t", 120, 1.0),),
    ),
    Park(
        "KZ-ALA-IPA",
        "Industrial Park of Almaty",
        "Almaty",
        "KZ",
        43.24,
        76.89,
        (Product("8418", "FRIDGE", "pcs", 300, 1.0),),
    ),
    Park(
        "UZ-TAS-NAVOI",
        "Navoi Free Economic Zone",
        "Navoi",
        "UZ",
        40.10,
        65.38,
        (Product("5205", "COTTON-YARN", "t", 60, 0.7), Product("8544", "CABLE", "t", 25, 0.3)),
    ),
    Park(
        "RU-NSK-TECH",
        "Novosibirsk Technopark (Academpark)",
        "Novosibirsk",
        "RU",
        55.03,
        82.92,
        (
            Product("9027", "SPECTROMETER", "pcs", 50, 0.5),
            Product("8501", "EMOTOR", "pcs", 400, 0.5),
        ),
    ),
    Park(
        "PK-ISB-SEZ",
        "Islamabad Model Special Economic Zone",
        "Islamabad",
        "PK",
        33.68,
        73.05,
        (
            Product("6204", "GARMENT", "pcs", 5000, 0.6),
            Product("3004", "MEDICAMENT", "kg", 800, 0.4),
        ),
    ),
    Park(
        "BY-MSK-GREATSTONE",
        "China-Belarus Industrial Park Great Stone",
        "Minsk",
        "BY",
        53.90,
        27.56,
        (Product("8704", "TRK-CAB", "pcs", 40, 0.5), Product("8507", "BATTERY", "pcs", 2000, 0.5)),
    ),
    Park(
        "AZ-BAK-ALAT",
        "Alat Free Economic Zone",
        "Baku",
        "AZ",
        40.40,
        49.87,
        (
            Product("3901", "POLYETHYLENE", "t", 200, 0.6),
            Product("7601", "ALUMINIUM", "t", 150, 0.4),
        ),
    ),
)

KHORGOS = ("Khorgos/Altynkol rail border", 44.18, 80.30)
ALASHANKOU = ("Alashankou/Dostyk rail border", 45.17, 82.57)
QINGDAO_PORT = ("Qingdao Port customs", 36.08, 120.31)
KARACHI_PORT = ("Karachi Port customs", 24.84, 66.98)
AKTAU_PORT = ("Aktau Port (Caspian ferry)", 43.61, 51.20)
ALAT_PORT = ("Port of Baku at Alat", 39.95, 49.41)
PETROPAVL = ("Petropavl/Petukhovo rail border", 55.06, 67.89)
LOKOT = ("Lokot/Tretyakovo rail border", 51.18, 81.18)
ZHIBEK_ZHOLY = ("Zhibek Zholy/Gisht Kuprik road border", 41.05, 69.36)
SARYAGASH = ("Saryagash/Keles rail border", 41.45, 69.17)


def _cp(place: tuple[str, float, float], at: float, dwell_hours: float) -> Checkpoint:
    return Checkpoint(place[0], place[1], place[2], at, dwell_hours)


RAIL, ROAD, SEA, MULTI = (
    TransportMode.RAIL,
    TransportMode.ROAD,
    TransportMode.SEA,
    TransportMode.MULTIMODAL,
)

CORRIDORS: tuple[Corridor, ...] = (
    Corridor(
        "QD-KHR-ALA-RAIL", RAIL, "CN-QD-SCODA", "KZ-ALA-IPA", 168, (_cp(KHORGOS, 0.8, 14),), 3.0
    ),
    Corridor(
        "QD-AKS-NSK-RAIL",
        RAIL,
        "CN-QD-SCODA",
        "RU-NSK-TECH",
        216,
        (_cp(ALASHANKOU, 0.55, 16), _cp(LOKOT, 0.85, 6)),
        2.0,
    ),
    Corridor(
        "QD-KHR-NAV-RAIL",
        RAIL,
        "CN-QD-SCODA",
        "UZ-TAS-NAVOI",
        288,
        (_cp(KHORGOS, 0.45, 14), _cp(SARYAGASH, 0.85, 8)),
        1.5,
    ),
    Corridor(
        "QD-AKS-MSK-RAIL",
        RAIL,
        "CN-QD-SCODA",
        "BY-MSK-GREATSTONE",
        384,
        (_cp(ALASHANKOU, 0.25, 16), _cp(PETROPAVL, 0.6, 6)),
        1.5,
    ),
    Corridor(
        "QD-KHI-ISB-SEA",
        SEA,
        "CN-QD-SCODA",
        "PK-ISB-SEZ",
        480,
        (_cp(QINGDAO_PORT, 0.03, 10), _cp(KARACHI_PORT, 0.85, 30)),
        1.0,
    ),
    Corridor(
        "QD-KHR-AKT-BAK-MM",
        MULTI,
        "CN-QD-SCODA",
        "AZ-BAK-ALAT",
        432,
        (_cp(KHORGOS, 0.3, 14), _cp(AKTAU_PORT, 0.75, 20), _cp(ALAT_PORT, 0.9, 10)),
        1.0,
    ),
    Corridor("KHR-ALA-ROAD", ROAD, "KZ-KHR-ICBC", "KZ-ALA-IPA", 8, (), 1.0),
    Corridor(
        "ALA-NAV-ROAD", ROAD, "KZ-ALA-IPA", "UZ-TAS-NAVOI", 60, (_cp(ZHIBEK_ZHOLY, 0.4, 6),), 1.5
    ),
    Corridor(
        "NAV-ALA-ROAD", ROAD, "UZ-TAS-NAVOI", "KZ-ALA-IPA", 60, (_cp(ZHIBEK_ZHOLY, 0.6, 6),), 1.5
    ),
    Corridor(
        "NAV-KHR-QD-RAIL",
        RAIL,
        "UZ-TAS-NAVOI",
        "CN-QD-SCODA",
        300,
        (_cp(SARYAGASH, 0.12, 8), _cp(KHORGOS, 0.5, 14)),
        1.0,
    ),
    Corridor("NSK-ALA-RAIL", RAIL, "RU-NSK-TECH", "KZ-ALA-IPA", 72, (_cp(LOKOT, 0.3, 6),), 1.0),
    Corridor("MSK-NSK-RAIL", RAIL, "BY-MSK-GREATSTONE", "RU-NSK-TECH", 120, (), 1.0),
    Corridor(
        "MSK-PTP-ALA-RAIL",
        RAIL,
        "BY-MSK-GREATSTONE",
        "KZ-ALA-IPA",
        190,
        (_cp(PETROPAVL, 0.45, 6),),
        1.0,
    ),
    Corridor(
        "ISB-KHI-QD-SEA",
        SEA,
        "PK-ISB-SEZ",
        "CN-QD-SCODA",
        500,
        (_cp(KARACHI_PORT, 0.1, 24), _cp(QINGDAO_PORT, 0.95, 12)),
        1.0,
    ),
    Corridor(
        "BAK-AKT-ALA-MM",
        MULTI,
        "AZ-BAK-ALAT",
        "KZ-ALA-IPA",
        200,
        (_cp(ALAT_PORT, 0.05, 8), _cp(AKTAU_PORT, 0.35, 20)),
        1.0,
    ),
)

PARKS_BY_ID = {p.park_id: p for p in PARKS}
CORRIDORS_BY_ID = {c.corridor_id: c for c in CORRIDORS}
