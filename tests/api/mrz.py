# SPDX-License-Identifier: AGPL-3.0-or-later
"""Generate valid ICAO 9303 MRZs for tests (an independent implementation of
the check digits: weights 7, 3, 1; '<' = 0, A = 10 ... Z = 35)."""
import datetime
import random
import string


def check_digit(s):
    total = 0
    for i, ch in enumerate(s):
        if ch.isdigit():
            v = int(ch)
        elif ch == "<":
            v = 0
        else:
            v = ord(ch) - ord("A") + 10
        total += v * (7, 3, 1)[i % 3]
    return str(total % 10)


def yymmdd(d):
    return d.strftime("%y%m%d")


def random_surname(prefix="TESTER"):
    return prefix + "".join(random.choice(string.ascii_uppercase) for _ in range(8))


def random_docnum():
    return "".join(random.choice(string.ascii_uppercase + string.digits) for _ in range(9))


def td3(surname, given, birth, expiry, nationality="FRA", issuing="FRA",
        sex="F", docnum=None, personal=""):
    """A passport MRZ (2 x 44).  @birth/@expiry are datetime.date."""
    docnum = docnum or random_docnum()
    name = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<"))[:39]
    line1 = ("P<" + issuing + name).ljust(44, "<")
    doc = docnum.ljust(9, "<")[:9]
    pers = personal.ljust(14, "<")[:14]
    pers_cd = check_digit(pers) if personal else "<"
    b, e = yymmdd(birth), yymmdd(expiry)
    parts = doc + check_digit(doc) + nationality + b + check_digit(b) + sex + e + check_digit(e) + pers + pers_cd
    composite = doc + check_digit(doc) + b + check_digit(b) + e + check_digit(e) + pers + pers_cd
    line2 = parts + check_digit(composite)
    assert len(line1) == 44 and len(line2) == 44, (line1, line2)
    return line1 + "\n" + line2


def td1(surname, given, birth, expiry, nationality="FRA", issuing="FRA",
        sex="M", docnum=None):
    """An identity card MRZ (3 x 30)."""
    docnum = docnum or random_docnum()
    doc = docnum.ljust(9, "<")[:9]
    line1 = ("I<" + issuing + doc + check_digit(doc)).ljust(30, "<")
    b, e = yymmdd(birth), yymmdd(expiry)
    line2 = b + check_digit(b) + sex + e + check_digit(e) + nationality
    line2 = line2.ljust(29, "<")
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    line3 = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<")).ljust(30, "<")[:30]
    return "\n".join((line1, line2, line3))


def adult_birth(years=35):
    today = datetime.date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def future(years=5):
    today = datetime.date.today()
    return today.replace(year=today.year + years, day=min(today.day, 28))
