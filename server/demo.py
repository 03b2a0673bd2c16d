"""Demo data: a fictional Fenland & Broads Fire and Rescue Service with synthetic premises.

Owns the station list, the catalogue of premises uses and their typical hazards, and loading
all of it (with the demo sign-ins) into a database, with a few high-rise residential buildings
(responsible persons, submission links, faults, information-box checks: `high_rise_demo`).
Deterministic: every choice comes from one `random.Random(seed)` and `today` is passed in;
must not read the clock in the generators or touch the global `random`. Phone numbers are Ofcom drama numbers; postcodes are format-valid only.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from dataclasses import dataclass
from typing import Any

from server import information_box, submissions
from server.auth import Auth, token_digest
from server.settings import Settings
from server.store import building_submissions, organisations, owner_links, records
from server.store import information_box as box_store
from server.store.database import Database
from sync.record import DEFAULT_REVIEW_INTERVAL_DAYS, HARMS, next_review_due

# (code, town, lat, lon, postcode districts, landline-style villages on its ground)
_TOWNS: tuple[tuple[str, str, float, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("WIS", "Wisbech", 52.6661, 0.1594, ("PE13", "PE14"),
     ("Leverington", "Walsoken", "Elm", "Tydd St Giles", "Outwell")),
    ("MAR", "March", 52.5513, 0.0880, ("PE15",),
     ("Wimblington", "Doddington", "Benwick", "Manea")),
    ("ELY", "Ely", 52.3990, 0.2620, ("CB6", "CB7"),
     ("Littleport", "Soham", "Sutton", "Haddenham", "Witchford")),
    ("KLN", "King's Lynn", 52.7540, 0.3980, ("PE30", "PE33", "PE34"),
     ("Gaywood", "South Wootton", "Terrington St Clement", "Clenchwarton")),
    ("DMK", "Downham Market", 52.6000, 0.3830, ("PE38",),
     ("Denver", "Hilgay", "Stow Bardolph", "Southery")),
    ("THT", "Thetford", 52.4130, 0.7500, ("IP24", "IP26"),
     ("Brandon", "Croxton", "Kilverstone", "Mundford")),
    ("DER", "Dereham", 52.6810, 0.9400, ("NR19", "NR20"),
     ("Swanton Morley", "Mattishall", "Shipdham", "Gressenhall")),
    ("NOR", "Norwich", 52.6280, 1.2930, ("NR1", "NR2", "NR3", "NR4", "NR5", "NR6", "NR7"),
     ("Costessey", "Thorpe St Andrew", "Hellesdon", "Eaton", "Sprowston")),
    ("WRX", "Wroxham", 52.7060, 1.4050, ("NR12",),
     ("Hoveton", "Horning", "Salhouse", "Coltishall", "Ludham")),
    ("GYM", "Great Yarmouth", 52.6080, 1.7300, ("NR29", "NR30", "NR31"),
     ("Gorleston", "Caister-on-Sea", "Bradwell", "Hemsby")),
    ("LOW", "Lowestoft", 52.4780, 1.7510, ("NR32", "NR33"),
     ("Oulton Broad", "Kessingland", "Pakefield", "Carlton Colville")),
    ("BEC", "Beccles", 52.4580, 1.5630, ("NR34", "NR35"),
     ("Worlingham", "Bungay", "Gillingham", "Barsham")),
    ("BSE", "Bury St Edmunds", 52.2460, 0.7120, ("IP31", "IP32", "IP33"),
     ("Fornham", "Great Barton", "Moreton Hall", "Horringer")),
    ("IPS", "Ipswich", 52.0590, 1.1550, ("IP1", "IP2", "IP3", "IP4"),
     ("Kesgrave", "Pinewood", "Whitton", "Rushmere St Andrew")),
    ("STW", "Stowmarket", 52.1890, 0.9980, ("IP14",), ("Needham Market", "Onehouse", "Combs")),
    ("SUD", "Sudbury", 52.0380, 0.7310, ("CO10",), ("Long Melford", "Great Cornard", "Lavenham")),
    ("COL", "Colchester", 51.8890, 0.9010, ("CO1", "CO2", "CO3", "CO4"),
     ("Wivenhoe", "Stanway", "Lexden", "Mile End")),
    ("CHM", "Chelmsford", 51.7360, 0.4690, ("CM1", "CM2"),
     ("Great Baddow", "Broomfield", "Writtle", "Springfield")),
    ("HUN", "Huntingdon", 52.3310, -0.1840, ("PE28", "PE29"),
     ("Godmanchester", "Brampton", "Hartford", "The Stukeleys")),
    ("STN", "St Neots", 52.2280, -0.2700, ("PE19",), ("Eaton Socon", "Eynesbury", "Little Paxton")),
    ("PBO", "Peterborough", 52.5730, -0.2410, ("PE1", "PE2", "PE3", "PE4"),
     ("Werrington", "Orton", "Hampton", "Bretton")),
    ("CAM", "Cambridge", 52.2050, 0.1190, ("CB1", "CB2", "CB3", "CB4", "CB5"),
     ("Chesterton", "Cherry Hinton", "Trumpington", "Histon")),
    ("NMK", "Newmarket", 52.2450, 0.4050, ("CB8",), ("Exning", "Kentford", "Moulton")),
    ("HAV", "Haverhill", 52.0830, 0.4390, ("CB9",), ("Kedington", "Withersfield", "Sturmer")),
    ("ROY", "Royston", 52.0480, -0.0240, ("SG8",), ("Bassingbourn", "Melbourn", "Therfield")),
    ("STV", "Stevenage", 51.9030, -0.1960, ("SG1", "SG2"), ("Shephall", "Knebworth", "Walkern")),
    ("HIT", "Hitchin", 51.9490, -0.2830, ("SG4", "SG5"), ("Letchworth", "Ickleford", "Offley")),
    ("BRA", "Braintree", 51.8780, 0.5530, ("CM7",), ("Bocking", "Rayne", "Black Notley")),
    ("HAL", "Halstead", 51.9450, 0.6400, ("CO9",), ("Earls Colne", "Sible Hedingham")),
    ("SWA", "Saffron Walden", 52.0220, 0.2400, ("CB10", "CB11"), ("Newport", "Debden")),
    ("FAK", "Fakenham", 52.8300, 0.8460, ("NR21",), ("Hempton", "Sculthorpe", "East Barsham")),
    ("CRO", "Cromer", 52.9310, 1.3010, ("NR27",), ("Overstrand", "East Runton", "Northrepps")),
    ("NWA", "North Walsham", 52.8220, 1.3870, ("NR28",), ("Bacton", "Worstead", "Mundesley")),
    ("AYL", "Aylsham", 52.7940, 1.2530, ("NR11",), ("Cawston", "Blickling", "Marsham")),
    ("DIS", "Diss", 52.3760, 1.1080, ("IP21", "IP22"), ("Roydon", "Scole", "Palgrave")),
    ("SWF", "Swaffham", 52.6480, 0.6870, ("PE37",), ("Sporle", "Narborough", "Necton")),
    ("HST", "Hunstanton", 52.9390, 0.4930, ("PE36",), ("Heacham", "Snettisham", "Old Hunstanton")),
    ("WHT", "Whittlesey", 52.5580, -0.1300, ("PE7",), ("Coates", "Eastrea", "Pondersbridge")),
    ("CHT", "Chatteris", 52.4560, 0.0530, ("PE16",), ("Somersham", "Warboys", "Ramsey")),
    ("MIL", "Mildenhall", 52.3450, 0.5100, ("IP28",), ("Beck Row", "Worlington", "Barton Mills")),
    ("WDB", "Woodbridge", 52.0940, 1.3180, ("IP12", "IP13"), ("Melton", "Martlesham", "Ufford")),
    ("FXT", "Felixstowe", 51.9630, 1.3510, ("IP11",), ("Walton", "Trimley St Mary", "Kirton")),
    ("HWC", "Harwich", 51.9410, 1.2840, ("CO12",), ("Dovercourt", "Ramsey", "Little Oakley")),
    ("CLA", "Clacton-on-Sea", 51.7890, 1.1560, ("CO15", "CO16"), ("Jaywick", "Holland-on-Sea")),
    ("MAL", "Maldon", 51.7310, 0.6770, ("CM9",), ("Heybridge", "Wickham Bishops", "Langford")),
    ("WIT", "Witham", 51.8000, 0.6400, ("CM8",), ("Hatfield Peverel", "Silver End", "Rivenhall")),
)
_TOWN_BY_CODE = {t[0]: t for t in _TOWNS}
MAX_STATIONS = len(_TOWNS)

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    # username, name, role, password: printed only in demo mode
    ("crew", "Demo Firefighter", "crew", "crew"),
    ("supervisor", "Demo Watch Manager", "supervisor", "supervisor"),
    ("admin", "Demo Risk Officer", "admin", "admin"),
)

_FIRST = ("James", "Sarah", "David", "Emma", "Mark", "Claire", "Paul", "Helen", "Tom", "Rachel",
          "Andrew", "Lucy", "Gary", "Karen", "Ian", "Nicola", "Steve", "Joanne", "Chris", "Amy",
          "Darren", "Louise", "Neil", "Hannah", "Rob", "Kelly", "Simon", "Zoe", "Priya", "Tomasz")
_SURNAMES = ("Barker", "Thurston", "Howlett", "Mallett", "Bloomfield", "Cushion", "Gotts",
             "Juby", "Loveday", "Pegg", "Rix", "Spinks", "Thrower", "Youngs", "Howes", "Platten",
             "Brighty", "Chilvers", "Dack", "Ebbage", "Fisk", "Gedge", "Hewitt", "Ling", "Marjoram",
             "Nobbs", "Pightling", "Reeve", "Sayer", "Tuck", "Wegg", "Worby", "Emms", "Kett")
_TREES = ("Oak", "Willow", "Alder", "Beech", "Elm", "Rowan", "Ash", "Cedar", "Hazel", "Poplar")
_SAINTS = ("Mary", "Peter", "Andrew", "Margaret", "Botolph", "Edmund", "Nicholas", "Withburga",
           "Felix", "Etheldreda", "Wendreda", "Guthlac")
_RIVERS = ("Ouse", "Nene", "Wensum", "Yare", "Bure", "Waveney", "Lark", "Cam", "Stour", "Welland")
_STREETS = ("High Street", "Station Road", "Church Lane", "Mill Road", "London Road",
            "Queen Street", "Market Place", "Victoria Road", "Norwich Road", "Chapel Street",
            "School Lane", "Broad Street", "The Causeway", "North End", "Bridge Street",
            "Elm Road", "Common Lane", "St John's Road", "Marsh Road", "Priory Road")
_ROADS = ("Fen Road", "Black Drove", "Middle Drove", "Sixteen Foot Bank", "Hundred Foot Bank",
          "Long Drove", "Marsh Lane", "Common Road", "Decoy Road", "Staithe Road")
_ESTATES = ("Cromwell Road Industrial Estate", "Enterprise Park", "Fenland Business Park",
            "Riverside Trading Estate", "Airfield Industrial Estate", "Broadland Business Park",
            "Hurricane Way", "Boleness Road Estate", "Beacon Park", "Gapton Hall Estate")
_DRAINS = ("Forty Foot Drain", "Sixteen Foot Drain", "Middle Level Main Drain", "Counter Drain",
           "the river", "the dyke at the rear boundary", "the mill stream")
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"  # letters allowed in the last two characters of a postcode
_EVAC_TEXT = {
    "stay_put": "Stay put: each flat is a fire compartment; evacuate the flat of origin and any "
                "directly affected, then decide on wider evacuation with the IC.",
    "simultaneous": "Simultaneous: all occupants leave on the alarm to the assembly point.",
    "phased": "Phased: fire floor and floor above first, then two floors at a time on instruction.",
    "progressive_horizontal": "Progressive horizontal: staff move residents through fire doors "
                              "into the next compartment; full evacuation only on IC decision.",
    "temporary_simultaneous": "Temporary simultaneous while waking watch is in place; common "
                              "alarm sounders fitted on every floor.",
}


@dataclass(frozen=True)
class _Hazard:
    type: str
    chance: float
    severity: str
    places: tuple[str, ...]
    text: str
    hazchem: str = ""


@dataclass(frozen=True)
class _Use:
    label: str
    weight: int
    names: tuple[str, ...]
    levels: tuple[int, ...]
    hazards: tuple[_Hazard, ...]
    harms: tuple[str, ...]
    evacuation: tuple[str, ...]
    suppression: tuple[str, ...]
    tactics: str
    site: str  # "street", "estate", "rural"


def _h(type_: str, chance: float, severity: str, places: str, text: str,
       hazchem: str = "") -> _Hazard:
    return _Hazard(type_, chance, severity, tuple(places.split("|")), text, hazchem)


_NONE = ("None",)
USES: tuple[_Use, ...] = (
    _Use("Care home", 8, ("{tree} House Care Home", "St {saint}'s Nursing Home",
                          "The {tree}s Residential Home", "{village} Lodge Care Centre"),
         (1, 1, 2), (
             _h("oxygen", 0.6, "high", "Resident rooms, first floor|Treatment room|Store by lift",
                "Medical oxygen concentrators and cylinders in use; check the residents' list "
                "held at reception."),
             _h("hoarding", 0.1, "medium", "Room 14|Staff flat over garage",
                "Known high fire-loading in one room; reported by staff at last visit."),
             _h("lpg", 0.15, "medium", "Kitchen yard", "Two 47 kg LPG cylinders for the kitchen.",
                "2WE")),
         ("life_public", "life_firefighter", "community"), ("progressive_horizontal",),
         ("Sprinklers throughout (BS 9251)", "Sprinklers in new wing only", "None"),
         "Many residents with limited mobility; night staffing as low as three. Early request "
         "for additional appliances and ambulance. Commit BA to support horizontal evacuation "
         "into the adjacent compartment.", "street"),
    _Use("Factory", 9, ("{surname} Engineering Ltd", "{town} Food Processing",
                        "{surname} & Sons Plastics", "Anglia {tree} Components",
                        "{river} Valley Foods"), (2, 2, 3), (
             _h("flammable_liquids", 0.5, "high", "Solvent store, north wall|Paint line",
                "Bulk solvents in IBCs; bunded store.", "3YE"),
             _h("compressed_gases", 0.4, "medium", "Cylinder cage by goods in",
                "Nitrogen and CO2 cylinders.", "2T"),
             _h("hazardous_chemicals", 0.35, "high", "Chemical store|Wash bay",
                "Sodium hydroxide and cleaning acids; keep separate.", "2R"),
             _h("asbestos", 0.3, "medium", "Roof sheets, older bays",
                "Asbestos cement roof sheets; risk of spalling in fire."),
             _h("lpg", 0.3, "medium", "Forklift charging bay", "LPG forklift cylinders.", "2WE"),
             _h("confined_space", 0.2, "high", "Effluent pit|Mixing vessels",
                "Entry only with rescue team and gas monitoring."),
             _h("solar_pv", 0.3, "medium", "Roof", "Roof-mounted PV array; DC cables live in "
                "daylight even when isolated.")),
         ("life_firefighter", "economic", "environment"), ("simultaneous",),
         ("Sprinklers in production hall", "None", "Foam system over paint line"),
         "Large open production hall with high fire loading. Defensive unless life risk "
         "confirmed. Site engineer to meet at RVP with site plan.", "estate"),
    _Use("Farm", 12, ("{surname}'s Farm", "{surname} Farms Ltd", "{village} Hall Farm",
                      "Fen End Farm", "{tree} Tree Farm", "Manor Farm, {village}"),
         (3, 3, 4, 2), (
             _h("silo", 0.6, "high", "Grain store|Silos by the dryer",
                "Grain silos; dust explosion risk; never open a smouldering silo."),
             _h("livestock", 0.5, "medium", "Cattle yards|Pig units|Poultry sheds",
                "Livestock on site; farmer to advise on release or containment."),
             _h("lpg", 0.4, "high", "Grain dryer|Farmhouse garden",
                "Bulk LPG tank for the grain dryer, 2 tonnes.", "2WE"),
             _h("asbestos", 0.5, "medium", "Barn roofs|Old cattle shed",
                "Asbestos cement sheeting on older barns."),
             _h("flammable_liquids", 0.4, "medium", "Yard, by workshop",
                "Red diesel tank, 2,500 litres, bunded.", "3Y"),
             _h("overhead_power", 0.3, "high", "Across the yard entrance|Field access",
                "11 kV overhead line; keep ladders and aerials clear."),
             _h("hazardous_chemicals", 0.3, "high", "Agrochemical store",
                "Pesticides and fertiliser (ammonium nitrate) in store.", "1Y"),
             _h("confined_space", 0.3, "high", "Slurry lagoon|Slurry pit",
                "Slurry store; toxic gases; no entry."),
             _h("solar_pv", 0.2, "medium", "Barn roof", "PV on barn roof.")),
         ("environment", "economic", "life_firefighter"), ("simultaneous",), _NONE,
         "Remote site; limited hydrants: plan water relay or tanker early. Stacks of baled straw "
         "burn for days: consider controlled burn with Environment Agency advice.", "rural"),
    _Use("School", 7, ("{town} Primary School", "St {saint}'s C of E Primary Academy",
                       "{town} High School", "{village} Community Primary School"), (2, 3), (
             _h("asbestos", 0.4, "medium", "Main hall ceiling|Boiler house",
                "Asbestos register held in the office; ceiling tiles in the 1960s block."),
             _h("hazardous_chemicals", 0.3, "medium", "Science prep room",
                "Small quantities of laboratory chemicals.", "2X"),
             _h("solar_pv", 0.3, "low", "Sports hall roof", "PV array on the sports hall roof.")),
         ("life_public", "community"), ("simultaneous",),
         ("None", "Sprinklers in new teaching block"),
         "Term time: up to several hundred children; roll call at the playing field. Out of "
         "hours: caretaker is key holder.", "street"),
    _Use("High-rise flats", 3, ("{tree} Court", "{surname} House", "{river} Tower",
                                "{saint} Heights"), (1,), (
             _h("combustible_cladding", 0.5, "high", "External walls, floors 3 and above",
                "Cladding system under remediation; external fire spread possible."),
             _h("lithium_batteries", 0.3, "medium", "Bike store, ground floor",
                "E-bikes and scooters charged in the bike store."),
             _h("hoarding", 0.25, "medium", "Flat on the 7th floor",
                "Known hoarding reported by housing officer."),
             _h("deep_basement", 0.1, "medium", "Basement car park",
                "Car park one level below ground; smoke logging.")),
         ("life_public", "life_firefighter", "community"), ("stay_put", "temporary_simultaneous"),
         ("None", "Sprinklers in flats (retrofitted)"),
         "Use the firefighting lift and dry riser; bridgehead two floors below fire floor. Premises "
         "information box at main entrance holds floor plans and residents' vulnerability list.",
         "street"),
    _Use("Battery energy storage site", 2, ("{village} Battery Storage", "{village} Energy "
         "Storage Facility", "{river} Grid Battery"), (1, 2), (
             _h("bess", 1.0, "high", "Container compound",
                "Lithium-ion battery containers; thermal runaway, toxic and flammable gases, "
                "explosion risk on opening doors."),
             _h("lithium_batteries", 1.0, "high", "Container compound|Spares store",
                "Spare battery modules stored on site."),
             _h("overhead_power", 0.5, "high", "Substation boundary",
                "33 kV connection; do not enter the substation.")),
         ("environment", "life_firefighter", "economic"), ("simultaneous",),
         ("Aerosol suppression in containers", "None"),
         "Do not open container doors. Cool neighbouring containers from a distance; let an "
         "affected container burn out. Contact the operator's remote monitoring centre for "
         "state of charge and gas readings. Consider run-off from cooling water.", "rural"),
    _Use("Warehouse", 8, ("{town} Distribution Centre", "{surname} Logistics",
                          "Anglia Cold Store", "{river} Storage Ltd"), (2, 3), (
             _h("lithium_batteries", 0.4, "medium", "Forklift charging bay",
                "Lithium-ion forklift batteries on charge."),
             _h("lpg", 0.3, "medium", "Gas cage by yard", "LPG forklift cylinders.", "2WE"),
             _h("asbestos", 0.3, "medium", "Roof, older warehouse",
                "Asbestos cement roof on the original building."),
             _h("solar_pv", 0.4, "medium", "Roof", "Large roof PV array."),
             _h("structural_weakness", 0.15, "high", "High-bay racking",
                "High-bay racking; early collapse under fire; do not commit crews under racks.")),
         ("economic", "life_firefighter"), ("simultaneous",),
         ("Sprinklers (ESFR) throughout", "None", "In-rack sprinklers"),
         "Very large compartment. Defensive unless sprinklers are controlling. Meet the site "
         "manager at the gatehouse for occupancy and the sprinkler valve set.", "estate"),
    _Use("Hospital", 1, ("{town} General Hospital", "{town} Community Hospital",
                         "{river} Valley Hospital"), (1,), (
             _h("oxygen", 1.0, "high", "Liquid oxygen tank, service yard",
                "Bulk liquid oxygen vessel; piped oxygen throughout wards.", "2TE"),
             _h("radiation", 0.6, "high", "Radiology, ground floor",
                "Sealed radiation sources in nuclear medicine; RPA on call."),
             _h("hazardous_chemicals", 0.5, "medium", "Pathology laboratory",
                "Laboratory chemicals and formaldehyde.", "2X"),
             _h("compressed_gases", 0.5, "medium", "Medical gas store",
                "Nitrous oxide and Entonox cylinders."),
             _h("deep_basement", 0.3, "medium", "Plant and service tunnels",
                "Basement service tunnels link the blocks.")),
         ("life_public", "life_firefighter", "community"), ("progressive_horizontal",),
         ("Sprinklers in new wings", "Sprinklers throughout"),
         "Progressive horizontal evacuation: never order full evacuation without the hospital "
         "silver commander. Liaise with the site manager at fire control point.", "street"),
    _Use("Hotel", 4, ("The {surname} Arms Hotel", "{town} Lodge", "The {river} Hotel",
                      "{village} Manor Hotel"), (2, 2, 3), (
             _h("lpg", 0.3, "medium", "Kitchen yard", "LPG for the kitchen.", "2WE"),
             _h("asbestos", 0.2, "low", "Boiler room", "Pipe lagging in the boiler room."),
             _h("structural_weakness", 0.15, "medium", "Old coaching wing",
                "Timber-framed wing; hidden voids allow fire spread.")),
         ("life_public", "economic"), ("simultaneous",), ("None", "Sprinklers throughout"),
         "Sleeping risk; guests may be unfamiliar with the building. Night porter holds the "
         "guest list.", "street"),
    _Use("Petrol filling station", 5, ("Fenway Fuels {town}", "{village} Service Station",
                                       "Broadland Filling Station"), (2, 3), (
             _h("flammable_liquids", 1.0, "high", "Underground tanks, forecourt",
                "Petrol and diesel in underground tanks; fill points at forecourt edge.", "3YE"),
             _h("lpg", 0.5, "high", "LPG bottle cage|Autogas tank",
                "LPG cylinders for sale and autogas installation.", "2WE")),
         ("environment", "life_public"), ("simultaneous",), _NONE,
         "Emergency stop button inside the kiosk. Protect drains; interceptor on site.", "street"),
    _Use("Church / heritage", 6, ("St {saint}'s Church", "{village} Hall", "{town} Priory",
                                  "{village} Windmill", "{surname} Almshouses"), (2, 3), (
             _h("structural_weakness", 0.4, "high", "Tower|Roof timbers",
                "Medieval roof timbers; collapse risk in a developed fire."),
             _h("asbestos", 0.1, "low", "Boiler house", "Old boiler lagging."),
             _h("lithium_batteries", 0.05, "low", "Vestry", "Battery store for the sound system.")),
         ("heritage", "community"), ("simultaneous",), _NONE,
         "Grade I listed. Salvage plan: priority items listed in the vestry; salvage sheets on "
         "the rescue tender. Aerial appliance useful for roof.", "street"),
    _Use("Solar farm", 3, ("{village} Solar Farm", "{surname} Solar Park"), (3,), (
             _h("solar_pv", 1.0, "high", "Whole site",
                "Ground-mounted PV arrays; DC live in daylight; inverters at the central compound."),
             _h("overhead_power", 0.6, "high", "Grid connection", "33 kV connection."),
             _h("bess", 0.2, "high", "Battery compound", "Co-located battery storage.")),
         ("environment", "economic"), ("",), _NONE,
         "Grass fires spread under the panels. Do not cut cables. Operator's control room can "
         "isolate the inverters remotely.", "rural"),
    _Use("Recycling centre", 3, ("{town} Household Recycling Centre", "{surname} Waste & Metals",
                                 "{river} Recycling Ltd"), (2,), (
             _h("lithium_batteries", 0.6, "high", "Battery bay|Small electricals skip",
                "Batteries in waste; frequent hot spots."),
             _h("hazardous_chemicals", 0.4, "medium", "Chemical cabinet",
                "Household chemicals awaiting collection.", "2X"),
             _h("compressed_gases", 0.4, "high", "Gas cylinder cage",
                "Gas cylinders rejected from scrap."),
             _h("asbestos", 0.3, "medium", "Asbestos skip", "Bagged asbestos awaiting removal."),
             _h("flammable_liquids", 0.3, "medium", "Oil bank", "Waste oil bank.", "3Z")),
         ("environment", "life_firefighter"), ("simultaneous",), _NONE,
         "Waste piles can burn for days: plan for a long incident and a water relay. Plant on "
         "site can break piles apart.", "estate"),
    _Use("Vehicle workshop", 8, ("{surname} Motors", "{town} Auto Repairs",
                                 "{surname} Fabrications", "{village} Garage"), (3, 3, 4), (
             _h("acetylene", 0.8, "high", "Welding bay|Rear of workshop",
                "Acetylene cylinders; if involved in fire, apply hazard zone and cool.", "2SE"),
             _h("compressed_gases", 0.5, "medium", "Welding bay",
                "Oxygen and argon cylinders."),
             _h("flammable_liquids", 0.4, "medium", "Oil store", "Waste oil and paint.", "3YE"),
             _h("lithium_batteries", 0.3, "high", "EV bay", "Electric vehicles under repair."),
             _h("asbestos", 0.2, "low", "Roof", "Asbestos cement roof sheets.")),
         ("life_firefighter", "economic"), ("simultaneous",), _NONE,
         "Establish whether acetylene cylinders are involved before committing crews.", "estate"),
    _Use("Chemical works", 1, ("Anglia Agrochemicals", "{village} Chemical Works"), (1,), (
             _h("hazardous_chemicals", 1.0, "high", "Tank farm|Drum store",
                "Toxic and corrosive chemicals; COMAH lower tier.", "2XE"),
             _h("flammable_liquids", 0.6, "high", "Solvent tanks", "Solvent tanks.", "3YE"),
             _h("confined_space", 0.5, "high", "Reactor vessels", "Reactor vessels."),
             _h("compressed_gases", 0.4, "high", "Chlorine store", "Chlorine drums.", "2XE"),
             _h("explosives", 0.1, "high", "Magazine", "Small magazine of blasting agents.")),
         ("environment", "life_public", "life_firefighter", "economic"), ("simultaneous",),
         ("Deluge on tank farm", "Foam system"),
         "Approach from upwind. Site emergency plan: site incident controller meets at the "
         "gatehouse. Consider public warning and informing.", "estate"),
    _Use("Supermarket", 5, ("{town} Superstore", "Fenway Foods {town}"), (2, 3), (
             _h("solar_pv", 0.3, "medium", "Roof", "Roof PV."),
             _h("lpg", 0.1, "medium", "Service yard", "LPG for sale.", "2WE"),
             _h("lithium_batteries", 0.2, "medium", "Car park", "EV chargers in the car park.")),
         ("life_public", "economic"), ("simultaneous",), ("Sprinklers throughout", "None"),
         "Busy at weekends; staff sweep the store. Smoke ventilation controls at the "
         "fire panel.", "street"),
    _Use("Boatyard / marina", 2, ("{village} Marina", "{surname}'s Boatyard",
                                  "{river} Boat Hire"), (2, 3), (
             _h("lpg", 0.7, "high", "Boats moored|Chandlery",
                "LPG on boats and for sale in the chandlery.", "2WE"),
             _h("flammable_liquids", 0.7, "high", "Fuel berth",
                "Diesel and petrol at the fuel berth.", "3YE"),
             _h("lithium_batteries", 0.2, "medium", "Electric day boats",
                "Electric hire boats charging overnight.")),
         ("environment", "economic"), ("simultaneous",), _NONE,
         "Fire spreads between moored boats; consider moving boats clear. Environment Agency for "
         "pollution; booms held on site.", "rural"),
    _Use("House in multiple occupation", 3, ("{number} {street} (HMO)",), (2, 3), (
             _h("hoarding", 0.3, "medium", "Second floor rooms", "High fire loading reported."),
             _h("lithium_batteries", 0.3, "medium", "Hallway", "E-scooters charged in hallway."),
             _h("structural_weakness", 0.2, "medium", "Rear extension",
                "Poor-quality rear extension.")),
         ("life_public",), ("simultaneous",), _NONE,
         "Up to eight residents; some night workers. Check the landlord's occupancy list.",
         "street"),
    _Use("Fireworks retailer", 1, ("{surname} Fireworks",), (2,), (
             _h("explosives", 1.0, "high", "Licensed store, rear",
                "Fireworks store (HT 3/4), licensed quantity.", "1"),),
         ("life_public", "life_firefighter"), ("simultaneous",), _NONE,
         "Apply cordon of at least 200 m if the store is involved.", "street"),
    _Use("Nightclub", 1, ("The {tree} Rooms", "Club {river}"), (2,), (
             _h("deep_basement", 0.6, "high", "Basement dance floor",
                "Basement venue with single stair; smoke logging."),
             _h("compressed_gases", 0.4, "low", "Bar cellar", "CO2 cylinders for the bar.")),
         ("life_public", "life_firefighter"), ("simultaneous",), ("None",),
         "Late-night occupancy up to 400; door staff hold numbers.", "street"),
)
_USE_WEIGHTS = [u.weight for u in USES]
_USES_BY_LABEL = {u.label: u for u in USES}


def hazard_types_for(use: str) -> frozenset[str]:
    """The hazard types the generator may give a premises of this use (temporary ones aside)."""
    u = _USES_BY_LABEL.get(use)
    return frozenset(h.type for h in u.hazards) if u else frozenset()


TEMPORARY_HAZARDS = frozenset({"scaffolding", "blocked_access"})


def generate_stations(n: int = 12, seed: int = 1) -> list[dict[str, Any]]:
    """`n` stations (code, name, lat, lon, extra_grounds); the first also covers its neighbour.

    The station list is fixed so demo stations stay recognisable; `seed` is accepted for
    symmetry with `generate_premises`.
    """
    if not 1 <= n <= MAX_STATIONS:
        raise ValueError(f"stations must be between 1 and {MAX_STATIONS}")
    out: list[dict[str, Any]] = [{"code": code, "name": f"{town} Fire Station", "lat": lat, "lon": lon,
            "extra_grounds": []} for code, town, lat, lon, _, _ in _TOWNS[:n]]
    if n > 1:
        first = out[0]
        neighbour = min(out[1:], key=lambda s: records.distance_m(
            first["lat"], first["lon"], s["lat"], s["lon"]))
        first["extra_grounds"] = [neighbour["code"]]
    return out


class _Maker:
    """Builds one record at a time from the shared rng; no state beyond it."""

    def __init__(self, rng: random.Random, today: dt.date, intervals: dict[int, int]):
        self.rng, self.today, self.intervals = rng, today, intervals

    def person(self) -> str:
        return f"{self.rng.choice(_FIRST)} {self.rng.choice(_SURNAMES)}"

    def mobile(self) -> str:
        return f"07700 900{self.rng.randrange(1000):03d}"

    def landline(self) -> str:
        return f"01632 960{self.rng.randrange(1000):03d}"

    def postcode(self, districts: tuple[str, ...]) -> str:
        r = self.rng
        return f"{r.choice(districts)} {r.randrange(1, 10)}{r.choice(_INWARD)}{r.choice(_INWARD)}"

    def date(self, days_from_today: int) -> str:
        return (self.today + dt.timedelta(days=days_from_today)).isoformat()

    def record(self, index: int, uprn: int, station: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        code = station["code"]
        _, town, _, _, districts, villages = _TOWN_BY_CODE.get(
            code, (code, station["name"].removesuffix(" Fire Station"), 0.0, 0.0, ("PE1",),
                   ()))
        village = r.choice(villages) if villages else town
        use = r.choices(USES, weights=_USE_WEIGHTS)[0]
        street, street2 = r.sample(_STREETS, 2)
        number = r.randrange(1, 180)
        name = r.choice(use.names).format(
            tree=r.choice(_TREES), saint=r.choice(_SAINTS), river=r.choice(_RIVERS),
            surname=r.choice(_SURNAMES), town=town, village=village, number=number,
            street=street)
        place = village if use.site == "rural" or r.random() < 0.3 else town
        if use.site == "estate":
            address = f"Unit {r.randrange(1, 40)}, {r.choice(_ESTATES)}, {place}"
        elif use.site == "rural":
            address = f"{r.choice(_ROADS)}, {place}"
        else:
            address = f"{number} {street}, {place}"
        spread = 0.05 if use.site == "rural" else 0.025
        lat = round(min(60.9, max(49.1, r.gauss(station["lat"], spread))), 5)
        lon = round(min(2.4, max(-8.9, r.gauss(station["lon"], spread * 1.6))), 5)
        level = r.choice(use.levels)
        score = r.randint(*{1: (75, 100), 2: (50, 74), 3: (25, 49), 4: (5, 24)}[level])
        interval = self.intervals.get(level, 365)
        assessed = self.date(-r.randint(10, int(interval * 1.25)))
        hazards = self.hazards(use)
        evacuation = r.choice(use.evacuation)
        drain = r.choice(_DRAINS)
        hydrant = f"Outside {r.randrange(1, 120)} {street}"
        manager = self.person()
        environmental = (
            f"Drains discharge to {drain}: cover drains, contain run-off, inform the "
            "Environment Agency." if "environment" in use.harms else "")
        doc: dict[str, Any] = {
            "id": f"p{index:06d}",
            "station": code,
            "name": name,
            "address": address,
            "postcode": self.postcode(districts),
            "uprn": str(uprn),
            "lat": lat,
            "lon": lon,
            "use": use.label,
            "risk_level": level,
            "risk_score": score,
            "assessed_at": assessed,
            "assessed_by": f"{r.choice(('WM', 'CM', 'SM'))} {r.choice(_SURNAMES)}",
            "next_review_due": next_review_due(assessed, level, self.intervals),
            "harms": [h for h in HARMS if h in use.harms],
            "hazards": hazards,
            "rvp": r.choice((f"{street} junction with {street2}", "Main car park by the entrance",
                             f"Lay-by on {street2}", "Front gate")),
            "access_points": (
                f"Main entrance from {street}; second access via {street2} "
                f"({r.choice(('double gates', 'single gate', 'barrier'))}). "
                + r.choice(("Turning space for one appliance only.", "", "",
                            "Soft verges: keep to the hard standing."))).strip(),
            "key_holder": f"{manager} (site manager) {self.mobile()}",
            "key_box": r.choice(("Key safe left of the main door", "Key box at the gatehouse",
                                 "Gerda box by the fire panel")) + f", code {r.randrange(10000):04d}",
            "entry_codes": f"Side gate keypad {r.randrange(10000):04d}#" + (
                f"; plant room C{r.randrange(10000):04d}" if r.random() < 0.5 else ""),
            "water_supplies": self.water(hydrant, drain, use),
            "alarm_panel": r.choice(("Main entrance lobby", "Reception", "Ground floor "
                                     "stair lobby", "Gatehouse", "Office by goods in")),
            "suppression": r.choice(use.suppression),
            "risers": (f"Dry riser inlet on {street} elevation; outlets every floor"
                       if use.label == "High-rise flats" else ""),
            "isolation_gas": r.choice(("Meter box at front elevation", "Plant room, ground floor",
                                       "No mains gas")),
            "isolation_electric": r.choice(("Intake cupboard by main entrance",
                                            "Switch room at rear", "Substation kiosk by gate")),
            "isolation_water": r.choice(("Stop tap in the kitchen", "Valve pit by the entrance",
                                         "Plant room")),
            "contacts": [{"name": manager, "role": "Site manager", "phone": self.mobile()},
                         *({"name": self.person(), "role": role, "phone": self.landline()}
                           for role in r.sample(("Duty manager", "Owner", "Facilities",
                                                 "Security"), r.choice((0, 1, 1, 2))))],
            "tactical_plan": use.tactics,
            "evacuation_strategy": evacuation,
            "environmental_plan": environmental,
            "risk_notes": self.notes(use, evacuation),
            "observations": [],
            "attachments": [],
            "version": 1,
            "deleted": False,
            "updated_at": f"{assessed}T{r.randrange(8, 18):02d}:{r.randrange(60):02d}:00Z",
            "updated_by": "demo",
        }
        return doc

    def hazards(self, use: _Use) -> list[dict[str, Any]]:
        r = self.rng
        out: list[dict[str, Any]] = []
        for h in use.hazards:
            if r.random() < h.chance:
                out.append({"id": f"h{len(out) + 1}", "type": h.type,
                            "location": r.choice(h.places), "description": h.text,
                            "severity": h.severity, "hazchem": h.hazchem, "expires": None})
        if r.random() < 0.06:
            out.append({"id": f"h{len(out) + 1}", "type": "scaffolding",
                        "location": r.choice(("Front elevation", "Rear elevation", "Roof")),
                        "description": "Scaffolding for building works; check it is still up.",
                        "severity": "medium", "hazchem": "",
                        "expires": self.date(r.randint(-30, 180))})
        if r.random() < 0.03:
            out.append({"id": f"h{len(out) + 1}", "type": "blocked_access",
                        "location": "Main entrance",
                        "description": "Road works block the main entrance; use the second "
                                       "access.", "severity": "low", "hazchem": "",
                        "expires": self.date(r.randint(7, 90))})
        return out

    def water(self, hydrant: str, drain: str, use: _Use) -> list[dict[str, Any]]:
        r = self.rng
        out = [{"kind": "hydrant", "location": hydrant,
                "notes": f"{r.choice(('100', '150', '180'))} mm main, "
                         f"{r.choice(('underground', 'pillar'))}"}]
        if r.random() < 0.25:
            out.append({"kind": "hydrant", "location": f"{r.randrange(50, 400)} m along the road",
                        "notes": r.choice(("Poor flow reported", "", "Private hydrant"))})
        if use.site == "rural":
            out.append({"kind": "open_water", "location": drain.capitalize(),
                        "notes": "Hard standing for pumping at the bridge"})
        if use.label in ("Battery energy storage site", "Solar farm", "Chemical works"):
            out.append({"kind": "static_tank", "location": "By the site entrance",
                        "notes": f"{r.choice((100, 228, 300))} m3, suction point"})
        return out

    def notes(self, use: _Use, evacuation: str) -> str:
        r = self.rng
        parts = [r.choice((
            "Building works planned next year: review when complete.",
            "Information confirmed with the site manager at the last visit.",
            "Occupancy varies by season.",
            "Site changes often; confirm hazards with the key holder on arrival.",
            "No change since the previous review.",
        ))]
        if evacuation and r.random() < 0.2:
            parts.append(_EVAC_TEXT[evacuation])
        if use.site == "rural":
            parts.append("Poor mobile signal on site; radio through the appliance.")
        return " ".join(parts)


def generate_premises(n: int, stations: list[dict[str, Any]], seed: int = 1,
                      today: dt.date | None = None,
                      intervals: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """`n` complete, valid premises records spread over `stations`, ids p000001…"""
    if today is None:
        raise ValueError("today is required: the generators do not read the clock")
    if not stations:
        raise ValueError("at least one station is needed")
    rng = random.Random(seed)
    maker = _Maker(rng, today, intervals or DEFAULT_REVIEW_INTERVAL_DAYS)
    uprns = rng.sample(range(100_000_000_000, 1_000_000_000_000), n)
    return [maker.record(i + 1, uprns[i], rng.choice(stations)) for i in range(n)]


DEMO_SERVICE = "Fenland & Broads Fire and Rescue Service"
HIGH_RISE_DEMO = 5  # high-rise residential buildings marked in the demo


@dataclass
class HighRiseDemo:
    """The demo's high-rise buildings: their records (marked, with responsible persons, open
    faults and the latest box check on them), and the rows behind them. `plans` are the plans
    and wall information the demo holds as accepted (premises_id, kind, version, accepted_on):
    for the versioned submissions store once it is wired; the compliance view shows the rest
    as missing."""

    docs: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    plans: list[dict[str, Any]]


def high_rise_demo(docs: list[dict[str, Any]], stations: list[dict[str, Any]], seed: int,
                   today: dt.date, review_days: int = 14) -> HighRiseDemo:
    """Mark up to HIGH_RISE_DEMO "High-rise flats" records (those of the first station's
    grounds first, so the demo supervisor sees them) as high-rise residential buildings: the
    first with an open firefighting-lift fault and a current box check, the second with its
    check overdue, the third with problems found and a dry-riser fault past review, plans
    received for some and missing for others. Uses its own rng: other records stay as they are."""
    rng = random.Random(seed * 7919 + 16)
    grounds = [stations[0]["code"], *stations[0].get("extra_grounds", [])]
    flats = [d for d in docs if d["use"] == "High-rise flats"]
    chosen = sorted(flats, key=lambda d: (d["station"] not in grounds, d["id"]))[:HIGH_RISE_DEMO]
    chosen.sort(key=lambda d: d["id"])

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    def ref() -> str:
        return "F-" + "".join(rng.choice(submissions.REFERENCE_ALPHABET) for _ in range(8))
    out, faults, checks, plans = [], [], [], []
    for i, doc in enumerate(chosen):
        person = f"{rng.choice(_FIRST)} {rng.choice(_SURNAMES)}"
        storeys = rng.randint(7, 22)
        doc = {**doc, "high_rise": {
            "height_m": round(storeys * 2.9 + rng.uniform(1, 4), 1), "storeys": storeys,
            "responsible_person": person,
            "organisation": rng.choice(("Fenland Homes Ltd", "Broads Housing Association",
                                        "Ouse Estates Management", "Anglia Residential Ltd")),
            "phone": f"01632 960{rng.randrange(1000):03d}",
            "email": f"{person.split()[0].lower()}@building-owner.example"}}
        if i == 0:
            faults.append({"reference": ref(), "premises_id": doc["id"],
                           "kind": "firefighting_lift", "since": day(-2),
                           "description": "Firefighting lift stuck at the 4th floor; "
                                          "engineer called.",
                           "reported_by": person, "reported_at": f"{day(-1)}T08:40:00Z"})
        if i == 2:
            faults.append({"reference": ref(), "premises_id": doc["id"],
                           "kind": "dry_riser", "since": day(-24),
                           "description": "Dry riser inlet cabinet vandalised; valve missing.",
                           "reported_by": person, "reported_at": f"{day(-23)}T16:05:00Z"})
        check_days = {0: -60, 1: -430, 2: -30, 3: -200}.get(i)
        if check_days is not None:
            problems = "Floor plans in the box are out of date (before the 2024 refurbishment)." \
                if i == 2 else ""
            checks.append({"premises_id": doc["id"], "checked_on": day(check_days),
                           "outcome": "problems" if problems else "ok", "problems": problems,
                           "reported_by": person, "reported_at": f"{day(check_days)}T10:00:00Z"})
        for kind, held in (("floor_plan", i in (0, 1, 3)), ("building_plan", i in (0, 3)),
                           ("external_wall", i == 0)):
            if held:
                plans.append({"premises_id": doc["id"], "kind": kind, "version": 1,
                              "accepted_on": day(-500 if i == 3 else -rng.randint(20, 200))})
        mine = [f for f in faults if f["premises_id"] == doc["id"]]
        if mine:
            doc["equipment_faults"] = submissions.on_record(mine, f"{day(0)}T00:00:00Z",
                                                            review_days)
        check = next((c for c in checks if c["premises_id"] == doc["id"]), None)
        if check:
            doc["information_box"] = information_box.on_record(check)
        out.append(doc)
    return HighRiseDemo(out, faults, checks, plans)


def _insert_high_rise(conn: sqlite3.Connection, found: HighRiseDemo, today: dt.date) -> None:
    """Each building's submission link (a fresh random token: only its digest is kept), and
    the faults and box checks its responsible person reported through it."""
    import secrets  # the links' tokens are secrets, not demo choices
    links = {}
    for doc in found.docs:
        links[doc["id"]] = owner_links.insert_link(
            conn, doc["id"], token_digest(secrets.token_urlsafe(32)), "demo",
            f"{(today - dt.timedelta(days=90)).isoformat()}T09:00:00Z",
            f"{(today + dt.timedelta(days=275)).isoformat()}T09:00:00Z")
    for fault in found.faults:
        owner_links.insert_fault(conn, {**fault, "link_id": links[fault["premises_id"]]})
    for check in found.checks:
        box_store.insert(conn, {**check, "link_id": links[check["premises_id"]]})
    # the plans and wall information the service holds: accepted versions (no files behind
    # them in the demo; the compliance view counts them as received)
    people = {d["id"]: d["high_rise"]["responsible_person"] for d in found.docs}
    for plan in found.plans:
        at = f"{plan['accepted_on']}T09:00:00Z"
        sub_id, _ = building_submissions.add(conn, {
            "premises_id": plan["premises_id"], "link_id": links[plan["premises_id"]],
            "kind": plan["kind"], "floor": "Ground floor" if plan["kind"] == "floor_plan" else None,
            "submitted_at": at, "submitted_by": people[plan["premises_id"]],
            "detail": {"files": [], **({
                "design_materials": "Brick outer leaf on a concrete frame; no cladding panels.",
                "risk": "low", "mitigation": "", "material_change": False}
                if plan["kind"] == "external_wall" else {})}})
        building_submissions.review(conn, [sub_id], "accepted", "demo", at)


def _insert_stations(conn: sqlite3.Connection, stations: list[dict[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO stations (code, name, lat, lon, extra_grounds) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(code) DO UPDATE SET name = excluded.name, lat = excluded.lat, "
        "lon = excluded.lon, extra_grounds = excluded.extra_grounds",
        [(s["code"], s["name"], s["lat"], s["lon"], json.dumps(s["extra_grounds"]))
         for s in stations])


async def load_demo(db: Database, settings: Settings, premises: int = 2000, stations: int = 12,
                    seed: int = 1, today: dt.date | None = None) -> list[tuple[str, str, str]]:
    """Insert demo stations, premises and users; returns the (username, password, role) made.

    Users that already exist are left alone (and not returned).
    """
    today = today or dt.date.today()
    station_rows = generate_stations(stations, seed)
    docs = generate_premises(premises, station_rows, seed, today,
                             settings.review_interval_days)
    tall = high_rise_demo(docs, station_rows, seed, today, settings.fault_review_days)
    marked = {d["id"]: d for d in tall.docs}
    docs = [marked.get(d["id"], d) for d in docs]

    def write(conn: sqlite3.Connection) -> None:
        _insert_stations(conn, station_rows)
        records.insert_many(conn, docs)
        _insert_high_rise(conn, tall, today)
        # the owning service is the demo's fictional one (partners see its name on shares)
        organisations.name_first_service(conn, DEMO_SERVICE)

    await db.write(write)
    existing = {r[0] for r in await db.execute("SELECT username FROM users")}
    auth = Auth(db, settings)
    made = []
    for username, name, role, password in DEMO_USERS:
        if username in existing:
            continue
        station = None if role == "admin" else station_rows[0]["code"]
        await auth.add_user(username, name, role, station, password, check_password=False,
                            service=1)  # demo data is the first owning service's
        made.append((username, password, role))
    return made
