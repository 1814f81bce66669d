"""Every screen's service, built once per window from the wiring: the one object the
window holds to hand each page its service (a page never sees ``AppServices``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trustpager_desktop.usecases.activity import ActivityService
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.consent import ConsentService
from trustpager_desktop.usecases.contacts import ContactsService
from trustpager_desktop.usecases.insights import InsightsService
from trustpager_desktop.usecases.messaging import MessagingService
from trustpager_desktop.usecases.opportunities import OpportunitiesService
from trustpager_desktop.usecases.optouts import OptOutsService
from trustpager_desktop.usecases.review import ReviewService
from trustpager_desktop.usecases.settings import SettingsService

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices


@dataclass(frozen=True)
class Screens:
    contacts: ContactsService
    consent: ConsentService
    messaging: MessagingService
    review: ReviewService
    automations: AutomationsService
    settings: SettingsService
    opportunities: OpportunitiesService
    optouts: OptOutsService
    activity: ActivityService
    insights: InsightsService

    @classmethod
    def build(cls, app: AppServices) -> Screens:
        return cls(
            contacts=ContactsService(app),
            consent=ConsentService(app),
            messaging=MessagingService(app),
            review=ReviewService(app),
            automations=AutomationsService(app),
            settings=SettingsService(app),
            opportunities=OpportunitiesService(app),
            optouts=OptOutsService(app),
            activity=ActivityService(app),
            insights=InsightsService(app),
        )
