/* Voronka CRM: the stage box of an interest offers the stages of the chosen pipeline only.
   Each stage <option> carries data-pipeline (app.widgets.StageSelectWidget); the options of
   other pipelines are taken out of the box and put back when their pipeline is chosen.
   Custom fields of some pipelines only (data-crm-pipelines, app.fab.custom_form) show
   while one of theirs is chosen. */
(function ($) {
    "use strict";

    function filterStages(stage, pipeline, all) {
        var chosen = pipeline.val();
        var current = stage.val();
        stage.empty();
        all.forEach(function (option) {
            var owner = option.getAttribute("data-pipeline");
            if (!owner || !chosen || owner === chosen) {
                stage.append(option);
            }
        });
        var still = stage.find("option").filter(function () { return this.value === current; });
        if (still.length) {
            stage.val(current);
        } else {
            // The first stage of the new pipeline, as a new interest starts there.
            var first = stage.find("option[data-pipeline]").first();
            stage.val(first.length ? first.val() : "");
        }
        stage.trigger("change.select2");
    }

    function showPipelineFields(form, pipeline) {
        var chosen = pipeline.val();
        form.find("[data-crm-pipelines]").each(function () {
            var owners = this.getAttribute("data-crm-pipelines").split(",");
            $(this).closest(".crm-field").toggle(!chosen || owners.indexOf(chosen) >= 0);
        });
    }

    $(function () {
        $("form").has("[data-crm-pipelines]").each(function () {
            var form = $(this);
            var pipeline = form.find("select[name=pipeline]");
            if (pipeline.length) {
                showPipelineFields(form, pipeline);
                pipeline.on("change", function () { showPipelineFields(form, pipeline); });
            }
        });
        $("select.crm-stage-select").each(function () {
            var stage = $(this);
            var form = stage.closest("form");
            var pipeline = form.find("select[name=pipeline]");
            if (!pipeline.length) {
                return;
            }
            var all = stage.find("option").toArray();
            filterStages(stage, pipeline, all);
            pipeline.on("change", function () { filterStages(stage, pipeline, all); });
        });
    });
}(jQuery));
